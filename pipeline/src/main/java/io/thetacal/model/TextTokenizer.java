package io.thetacal.model;

/** Turns text into the token ids a model expects, special tokens included. */
public interface TextTokenizer extends AutoCloseable {

  /** Token ids of one text, with the model's special tokens (e.g. [CLS] ... [SEP], or BOS). */
  int[] encode(String text);

  /** A name for provenance, e.g. the tokenizer file it was read from. */
  String name();

  @Override
  default void close() {
  }
}
