package io.thetacal.jobs.config;

/**
 * How a tokenized document longer than the maximum sequence length is cut.
 *
 * @param mode {@code split}: consecutive windows, each wrapped in the model's special tokens;
 *     {@code truncate}: the first window only
 * @param minTokens a trailing window shorter than this (special tokens included) is dropped, unless it
 *     is the document's only window
 */
public record ChunkingSettings(Mode mode, int minTokens) {

  /** Chunking modes. */
  public enum Mode {
    SPLIT,
    TRUNCATE
  }

  void validate(String key, Problems p) {
    p.missing(key + ".mode", mode);
    p.positive(key + ".min_tokens", minTokens);
  }
}
