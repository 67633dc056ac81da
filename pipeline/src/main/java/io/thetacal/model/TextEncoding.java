package io.thetacal.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Tokenizes texts for a model: blank texts are skipped, texts longer than the model's positions are
 * truncated or split into windows, and both are counted so nothing is dropped silently. The special
 * tokens a tokenizer wraps every text in (e.g. [CLS] … [SEP]) are found by encoding the empty text, and
 * each window keeps them.
 */
public final class TextEncoding {
  private TextEncoding() {
  }

  /** What to do with a text that has more tokens than the model has positions. */
  public enum Overflow {
    /** Keep the first window only. */
    TRUNCATE,
    /** Cut the text into consecutive windows, each a sequence of its own. */
    SPLIT
  }

  /**
   * The sequences produced and what happened on the way.
   *
   * @param sequences token ids, special tokens included, each at most maxTokens long
   * @param sourceIndex for each sequence, the index of the text it came from
   * @param skippedBlank texts that were empty or whitespace only
   * @param truncated texts cut to their first window
   * @param split texts cut into more than one window
   * @param droppedTokens tokens dropped by truncation
   */
  public record Result(List<int[]> sequences, int[] sourceIndex, int skippedBlank, int truncated,
      int split, long droppedTokens) {
    public Result {
      sequences = List.copyOf(sequences);
      sourceIndex = sourceIndex.clone();
    }

    @Override
    public int[] sourceIndex() {
      return sourceIndex.clone();
    }
  }

  /** Encodes texts for a model of {@code maxTokens} positions. */
  public static Result encode(TextTokenizer tokenizer, List<String> texts, int maxTokens,
      Overflow overflow) {
    int[] specials = tokenizer.encode("");
    if (maxTokens <= specials.length) {
      throw new IllegalArgumentException("'maxTokens' is set to " + maxTokens + " but must be > "
          + specials.length + " (the special tokens of every sequence)");
    }
    List<int[]> out = new ArrayList<>();
    List<Integer> src = new ArrayList<>();
    int blank = 0;
    int truncated = 0;
    int split = 0;
    long dropped = 0;
    for (int i = 0; i < texts.size(); i++) {
      String text = texts.get(i);
      if (text == null || text.isBlank()) {
        blank++;
        continue;
      }
      int[] ids = tokenizer.encode(text);
      if (ids.length <= maxTokens) {
        out.add(ids);
        src.add(i);
        continue;
      }
      int prefix = 0;
      while (prefix < specials.length && prefix < ids.length && ids[prefix] == specials[prefix]) {
        prefix++;
      }
      int suffix = specials.length - prefix;
      for (int j = 0; j < suffix; j++) {
        if (ids[ids.length - suffix + j] != specials[prefix + j]) {
          suffix = 0;
          break;
        }
      }
      int[] head = Arrays.copyOfRange(ids, 0, prefix);
      int[] tail = Arrays.copyOfRange(ids, ids.length - suffix, ids.length);
      int body = ids.length - prefix - suffix;
      int window = maxTokens - prefix - suffix;
      int windows = overflow == Overflow.TRUNCATE ? 1 : (body + window - 1) / window;
      for (int w = 0; w < windows; w++) {
        int from = prefix + w * window;
        int to = Math.min(from + window, prefix + body);
        int[] seq = new int[prefix + (to - from) + suffix];
        System.arraycopy(head, 0, seq, 0, prefix);
        System.arraycopy(ids, from, seq, prefix, to - from);
        System.arraycopy(tail, 0, seq, prefix + (to - from), suffix);
        out.add(seq);
        src.add(i);
      }
      if (overflow == Overflow.TRUNCATE) {
        truncated++;
        dropped += body - window;
      } else {
        split++;
      }
    }
    return new Result(out, src.stream().mapToInt(Integer::intValue).toArray(), blank, truncated, split,
        dropped);
  }
}
