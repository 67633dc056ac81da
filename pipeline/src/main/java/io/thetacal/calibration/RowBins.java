package io.thetacal.calibration;

/**
 * The bins of a row's scores and log-probabilities in {@link CalibrationState}: one value at a time, or a
 * whole row at once on the Vector API ({@link VectorRowBins}) with exactly the same results, so that the
 * state does not depend on which path ran.
 */
final class RowBins {
  /** Sub-bins per bin of a score code, as a power of two. */
  static final int SUB_BITS = 4;

  private RowBins() {
  }

  /**
   * The code of a score: its bin (0 below {@code min}, 1 .. bins inside, bins + 1 above) times
   * 2^{@value #SUB_BITS}, plus, inside the edges, which of 2^{@value #SUB_BITS} equal sub-bins of its bin it
   * falls in. Monotone in the score; the multiplication by a power of two is exact, so the bin part is
   * exactly {@code (int) ((v - min) * perUnit) + 1}.
   */
  static int scoreCode(float v, double min, double perUnit, int bins) {
    int f = (int) ((v - min) * perUnit * (1 << SUB_BITS));
    f = v < min ? -(1 << SUB_BITS) : f;
    return Math.min(f, bins << SUB_BITS) + (1 << SUB_BITS);
  }

  /** out[j] = {@link #scoreCode}(a[off + j], ...) for j in [0, n). */
  static void scoreCodes(float[] a, int off, int n, double min, double perUnit, int bins, int[] out) {
    int j = CalibrationState.VECTOR ? VectorRowBins.scoreCodes(a, off, n, min, perUnit, bins, out) : 0;
    for (; j < n; j++) {
      out[j] = scoreCode(a[off + j], min, perUnit, bins);
    }
  }

  /**
   * The histogram slot of a log-probability ln p = v - shift + lower edge, given shift = max + ln D - lower
   * edge and perUnit bins per unit: 0 below the lower edge, 1 .. bins inside, bins + 1 from the upper edge on.
   */
  static int logBin(float v, double shift, double perUnit, int bins) {
    double scaled = (v - shift) * perUnit;
    if (scaled < 0) {
      return 0;
    }
    return scaled >= bins ? bins + 1 : (int) scaled + 1;
  }

  /** out[j] = {@link #logBin}(a[off + j], ...) for j in [0, n). */
  static void logBins(float[] a, int off, int n, double shift, double perUnit, int bins, int[] out) {
    int j = CalibrationState.VECTOR ? VectorRowBins.logBins(a, off, n, shift, perUnit, bins, out) : 0;
    for (; j < n; j++) {
      out[j] = logBin(a[off + j], shift, perUnit, bins);
    }
  }
}
