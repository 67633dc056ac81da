package io.thetacal.model.llama;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.TextTokenizer;
import java.io.IOException;
import java.nio.file.Path;

/** A Hugging Face {@code tokenizer.json}, through the HF tokenizers library, with special tokens added. */
final class HfTextTokenizer implements TextTokenizer {
  private final Path file;
  private final HuggingFaceTokenizer tokenizer;

  HfTextTokenizer(Path file) {
    this.file = file;
    try {
      tokenizer = HuggingFaceTokenizer.newInstance(file);
    } catch (IOException | RuntimeException e) {
      throw new ModelLoadException(file + ": cannot load tokenizer: " + e.getMessage(), e);
    }
  }

  @Override
  public int[] encode(String text) {
    long[] ids = tokenizer.encode(text).getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }

  @Override
  public String name() {
    return file.toString();
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
