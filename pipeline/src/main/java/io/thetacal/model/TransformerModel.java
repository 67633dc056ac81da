package io.thetacal.model;

/**
 * A loaded pretrained transformer that runs batched forward passes with attention capture and
 * sparsification. Implementations are thread-safe for concurrent {@link #forward} calls.
 */
public interface TransformerModel extends AutoCloseable {

  ModelInfo info();

  /** The model's own tokenizer (from tokenizer.json or the checkpoint's metadata). */
  TextTokenizer tokenizer();

  ForwardResult forward(ForwardRequest request);

  @Override
  default void close() {
  }
}
