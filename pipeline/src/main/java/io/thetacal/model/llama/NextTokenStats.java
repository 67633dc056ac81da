package io.thetacal.model.llama;

/**
 * Next-token quality per position of a teacher-forced sequence: the negative log-likelihood of the
 * actual next token (log-sum-exp in double) and the argmax prediction.
 *
 * @param nll nll[i] = -log p(tokens[i+1] | tokens[0..i]), for i = 0..T-2
 * @param argmax argmax[i] = most likely token after position i (lowest id on ties), for i = 0..T-1
 */
public record NextTokenStats(double[] nll, int[] argmax) {

  /** Computes the statistics from logits [T × vocab] of the sequence {@code tokens} (length T). */
  public static NextTokenStats of(float[] logits, int vocab, int[] tokens) {
    int t = tokens.length;
    if (logits.length != (long) t * vocab) {
      throw new IllegalArgumentException("logits hold " + logits.length + " values but " + t
          + " positions × " + vocab + " tokens were expected");
    }
    double[] nll = new double[Math.max(0, t - 1)];
    int[] argmax = new int[t];
    for (int i = 0; i < t; i++) {
      int off = i * vocab;
      argmax[i] = argmax(logits, off, vocab);
      if (i + 1 < t) {
        double m = logits[off + argmax[i]];
        double sum = 0;
        for (int j = 0; j < vocab; j++) {
          sum += Math.exp(logits[off + j] - m);
        }
        nll[i] = m + Math.log(sum) - logits[off + tokens[i + 1]];
      }
    }
    return new NextTokenStats(nll, argmax);
  }

  /** Index of the largest of a[off .. off+n), lowest index on ties. */
  public static int argmax(float[] a, int off, int n) {
    int best = 0;
    float bv = a[off];
    for (int j = 1; j < n; j++) {
      if (a[off + j] > bv) {
        bv = a[off + j];
        best = j;
      }
    }
    return best;
  }

  /** Mean NLL over the scored positions; NaN for sequences of one token. */
  public double meanNll() {
    if (nll.length == 0) {
      return Double.NaN;
    }
    double s = 0;
    for (double v : nll) {
      s += v;
    }
    return s / nll.length;
  }

  /** Fraction of positions whose argmax equals the actual next token. */
  public double nextTokenAccuracy(int[] tokens) {
    if (nll.length == 0) {
      return Double.NaN;
    }
    int hit = 0;
    for (int i = 0; i + 1 < tokens.length; i++) {
      if (argmax[i] == tokens[i + 1]) {
        hit++;
      }
    }
    return (double) hit / nll.length;
  }
}
