package io.thetacal.calibration;

/**
 * Distribution drift between two histograms over the same bin edges: the Wasserstein-1 (earth mover's)
 * distance between the two piecewise-uniform densities the histograms describe, each normalised to mass
 * 1. Exact for those densities: within a bin the CDF difference is linear, so |F_a − F_b| is integrated in
 * closed form, including a sign change inside the bin. In score units (the edges' units).
 */
public final class Drift {
  private Drift() {
  }

  /**
   * W1 between histograms {@code a} and {@code b} with bins [edges[i], edges[i+1]).
   *
   * @throws IllegalArgumentException when edges are not finite and strictly increasing, counts do not
   *     match the bins, a count is negative, or a histogram is empty
   */
  public static double wasserstein1(double[] edges, long[] a, long[] b) {
    return wasserstein1(edges, toDouble(a, "a"), toDouble(b, "b"));
  }

  /** W1 for real-valued bin masses (e.g. already normalised); see {@link #wasserstein1(double[], long[], long[])}. */
  public static double wasserstein1(double[] edges, double[] a, double[] b) {
    int bins = edges.length - 1;
    if (bins < 1) {
      throw new IllegalArgumentException(
          "histogram edges must hold at least 2 values but hold " + edges.length);
    }
    for (int i = 0; i < edges.length; i++) {
      if (!Double.isFinite(edges[i]) || (i > 0 && !(edges[i] > edges[i - 1]))) {
        throw new IllegalArgumentException("histogram edge " + i + " is " + edges[i]
            + " but edges must be finite and strictly increasing");
      }
    }
    double ta = total(a, bins, "a");
    double tb = total(b, bins, "b");
    double w = 0;
    double d0 = 0;
    for (int i = 0; i < bins; i++) {
      double d1 = d0 + a[i] / ta - b[i] / tb;
      double width = edges[i + 1] - edges[i];
      if (d0 * d1 >= 0) {
        w += width * (Math.abs(d0) + Math.abs(d1)) / 2;
      } else {
        w += width * (d0 * d0 + d1 * d1) / (2 * (Math.abs(d0) + Math.abs(d1)));
      }
      d0 = d1;
    }
    return w;
  }

  private static double total(double[] c, int bins, String name) {
    if (c.length != bins) {
      throw new IllegalArgumentException("histogram '" + name + "' has " + c.length
          + " counts but the edges define " + bins + " bins");
    }
    double t = 0;
    for (int i = 0; i < c.length; i++) {
      if (!(c[i] >= 0) || Double.isInfinite(c[i])) {
        throw new IllegalArgumentException("histogram '" + name + "' bin " + i + " is " + c[i]
            + " but must be a finite count >= 0");
      }
      t += c[i];
    }
    if (t == 0) {
      throw new IllegalArgumentException("histogram '" + name + "' is empty; drift needs mass in both");
    }
    return t;
  }

  private static double[] toDouble(long[] c, String name) {
    double[] d = new double[c.length];
    for (int i = 0; i < c.length; i++) {
      d[i] = c[i];
    }
    return d;
  }
}
