package io.thetacal.model.llama;

/** Which dimensions of a head RoPE rotates together; fixed by the checkpoint format. */
public enum RopeLayout {
  /** GGUF / llama.cpp rope type 0: pairs (2i, 2i+1). */
  ADJACENT_PAIRS,
  /** Hugging Face Transformers: pairs (i, i + d/2) ("rotate_half"). */
  ROTATE_HALF
}
