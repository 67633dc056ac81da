package io.thetacal.report;

/**
 * Pure metric functions of the report, all accumulated in double: relative error, cosine similarity,
 * log-sum-exp, next-token negative log-likelihood and top-1 agreement of decoder logits.
 */
public final class Metrics {
  private Metrics() {
  }

  /** ||a − b|| / ||b|| (Euclidean); 0 when both are zero, +∞ when only b is. */
  public static double relativeError(float[] a, float[] b) {
    sameLength(a, b);
    double diff = 0;
    double ref = 0;
    for (int i = 0; i < a.length; i++) {
      double d = (double) a[i] - b[i];
      diff += d * d;
      ref += (double) b[i] * b[i];
    }
    if (ref == 0) {
      return diff == 0 ? 0 : Double.POSITIVE_INFINITY;
    }
    return Math.sqrt(diff / ref);
  }

  /** Σ (a_i − b_i)², the numerator of a pooled relative error over many vectors. */
  public static double squaredDistance(float[] a, float[] b) {
    sameLength(a, b);
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      double d = (double) a[i] - b[i];
      s += d * d;
    }
    return s;
  }

  /** Σ a_i². */
  public static double squaredNorm(float[] a) {
    double s = 0;
    for (float v : a) {
      s += (double) v * v;
    }
    return s;
  }

  /** a·b / (||a|| ||b||); NaN when either vector is zero. */
  public static double cosine(float[] a, float[] b) {
    sameLength(a, b);
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    if (na == 0 || nb == 0) {
      return Double.NaN;
    }
    return dot / Math.sqrt(na * nb);
  }

  /** log Σ_j e^{x_j} over {@code x[off .. off + n)}, shifted by the max so it cannot overflow. */
  public static double logSumExp(float[] x, int off, int n) {
    if (n <= 0) {
      throw new IllegalArgumentException("'n' is set to " + n + " but must be > 0");
    }
    double m = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < n; j++) {
      m = Math.max(m, x[off + j]);
    }
    if (Double.isInfinite(m)) {
      return m;
    }
    double s = 0;
    for (int j = 0; j < n; j++) {
      s += Math.exp(x[off + j] - m);
    }
    return m + Math.log(s);
  }

  /**
   * Σ over positions t = 0 .. length−2 of −log softmax(logits_t)[tokens[t+1]]: the summed next-token
   * NLL (nats) of one sequence; divide by {@code tokens.length − 1} for the mean.
   *
   * @param logits row-major [tokens.length × vocab]
   */
  public static double nextTokenNllSum(float[] logits, int vocab, int[] tokens) {
    checkLogits(logits, vocab, tokens.length);
    double sum = 0;
    for (int t = 0; t + 1 < tokens.length; t++) {
      int next = tokens[t + 1];
      if (next < 0 || next >= vocab) {
        throw new IllegalArgumentException("token " + next + " at position " + (t + 1)
            + " is outside the vocabulary [0, " + vocab + ")");
      }
      int off = t * vocab;
      sum += logSumExp(logits, off, vocab) - logits[off + next];
    }
    return sum;
  }

  /** Index of the largest of {@code x[off .. off + n)}; the lowest index wins ties. */
  public static int argmax(float[] x, int off, int n) {
    if (n <= 0) {
      throw new IllegalArgumentException("'n' is set to " + n + " but must be > 0");
    }
    int best = 0;
    for (int j = 1; j < n; j++) {
      if (x[off + j] > x[off + best]) {
        best = j;
      }
    }
    return best;
  }

  /** Positions (of {@code length}) where the two logit matrices predict the same top-1 token. */
  public static int top1Agreements(float[] a, float[] b, int vocab, int length) {
    checkLogits(a, vocab, length);
    checkLogits(b, vocab, length);
    int same = 0;
    for (int t = 0; t < length; t++) {
      if (argmax(a, t * vocab, vocab) == argmax(b, t * vocab, vocab)) {
        same++;
      }
    }
    return same;
  }

  private static void checkLogits(float[] logits, int vocab, int length) {
    if (vocab <= 0) {
      throw new IllegalArgumentException("'vocab' is set to " + vocab + " but must be > 0");
    }
    if (logits == null || (long) vocab * length != logits.length) {
      throw new IllegalArgumentException("logits hold " + (logits == null ? "nothing" : logits.length
          + " values") + " but must hold length × vocab = " + length + " × " + vocab);
    }
  }

  private static void sameLength(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException(
          "vectors differ in length: " + a.length + " vs " + b.length);
    }
  }
}
