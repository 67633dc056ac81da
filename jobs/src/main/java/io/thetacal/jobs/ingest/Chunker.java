package io.thetacal.jobs.ingest;

import io.thetacal.jobs.config.ChunkingSettings;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cuts a tokenized document into sequences of at most {@code maxLength} tokens. The model's special
 * tokens (what the tokenizer adds around an empty text, e.g. {@code [CLS] [SEP]} or {@code <s>}) wrap
 * every window, so each sequence is what the model would see for a text of that length.
 */
public final class Chunker {
  private final int[] specials;
  private final int maxLength;
  private final ChunkingSettings.Mode mode;
  private final int minTokens;

  /**
   * @param specials the tokenizer's encoding of the empty string
   */
  public Chunker(int[] specials, int maxLength, ChunkingSettings.Mode mode, int minTokens) {
    if (maxLength - specials.length < 1) {
      throw new IllegalArgumentException("'model.max_sequence_length' is set to " + maxLength
          + " but must be > " + specials.length + " (the model adds " + specials.length
          + " special tokens)");
    }
    this.specials = specials.clone();
    this.maxLength = maxLength;
    this.mode = mode;
    this.minTokens = minTokens;
  }

  /** The sequences of one document, in order. */
  public List<int[]> chunk(int[] ids) {
    if (ids.length <= maxLength) {
      return List.of(ids);
    }
    int prefix = prefixLength(ids);
    int[] wrap = specials;
    if (prefix < 0) {
      // Pre-tokenized input without the model's special tokens: plain windows.
      prefix = 0;
      wrap = new int[0];
    }
    int suffix = wrap.length - prefix;
    int[] content = Arrays.copyOfRange(ids, prefix, ids.length - suffix);
    int window = maxLength - wrap.length;
    List<int[]> out = new ArrayList<>();
    for (int start = 0; start < content.length; start += window) {
      int len = Math.min(window, content.length - start);
      if (!out.isEmpty() && len + wrap.length < minTokens) {
        break;
      }
      int[] seq = new int[len + wrap.length];
      System.arraycopy(wrap, 0, seq, 0, prefix);
      System.arraycopy(content, start, seq, prefix, len);
      System.arraycopy(wrap, prefix, seq, prefix + len, suffix);
      out.add(seq);
      if (mode == ChunkingSettings.Mode.TRUNCATE) {
        break;
      }
    }
    return out;
  }

  /**
   * How many of the special tokens precede the content in {@code ids} (the rest follow it), or -1 when
   * {@code ids} is not wrapped in them.
   */
  private int prefixLength(int[] ids) {
    for (int p = specials.length; p >= 0; p--) {
      boolean ok = ids.length >= specials.length;
      for (int i = 0; ok && i < p; i++) {
        ok = ids[i] == specials[i];
      }
      for (int i = p; ok && i < specials.length; i++) {
        ok = ids[ids.length - (specials.length - i)] == specials[i];
      }
      if (ok) {
        return p;
      }
    }
    return -1;
  }
}
