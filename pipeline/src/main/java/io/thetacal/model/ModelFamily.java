package io.thetacal.model;

/** Whether a model attends bidirectionally over a padded sequence (encoder) or causally (decoder). */
public enum ModelFamily {
  /** BERT-style: every row sees all non-padding keys, so n = sequence length without padding. */
  ENCODER,
  /** LLaMA-style: prefill row i sees keys 0..i, so n = i + 1. */
  DECODER
}
