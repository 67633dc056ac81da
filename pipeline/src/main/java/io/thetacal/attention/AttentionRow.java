package io.thetacal.attention;

/**
 * One attention row as the capture callback sees it: the scaled pre-softmax scores of the n visible
 * keys, before any pruning, with the row max and the dense softmax denominator. It is a reusable view:
 * the arrays are only valid during the callback, so a capture that keeps data must copy what it keeps.
 */
public final class AttentionRow {
  int layer;
  int head;
  int sequence;
  int row;
  int n;
  float[] scores;
  int offset;
  float max;
  double denominator;
  int selectedK;
  float[] selected;

  public int layer() {
    return layer;
  }

  /** Query head. */
  public int head() {
    return head;
  }

  /** Index of the sequence within the batch. */
  public int sequence() {
    return sequence;
  }

  /** Query position within the sequence. */
  public int row() {
    return row;
  }

  /** Visible keys: padding excluded, causal rows see row + 1 keys. */
  public int n() {
    return n;
  }

  /** Backing array; the row's scores are {@code scores()[offset() .. offset() + n())}. */
  public float[] scores() {
    return scores;
  }

  public int offset() {
    return offset;
  }

  public float score(int j) {
    return scores[offset + j];
  }

  /** max_j a_j over the whole row. */
  public float max() {
    return max;
  }

  /** Σ_j e^{a_j - max}, the dense softmax denominator. */
  public double denominator() {
    return denominator;
  }

  /**
   * The k of the exact top-k attention this row is about to get, or 0 when it gets none (any other mode,
   * or k >= n). When k > 0, {@link #selected()} holds the row's scores rearranged by that selection.
   */
  public int selectedK() {
    return selectedK;
  }

  /**
   * With {@link #selectedK()} = k > 0: the row's n scores, rearranged so that {@code [n - k, n)} holds the
   * k largest (the kept ones), {@code [n - k - 1]} the (k+1)-th largest, and {@code [0, n - k - 1)} the
   * others. Read only, and only valid when k > 0.
   */
  public float[] selected() {
    return selected;
  }

  /** The dense softmax probability that score {@code a} of this row would get. */
  public double probabilityOf(float a) {
    return Math.exp((double) a - max) / denominator;
  }
}
