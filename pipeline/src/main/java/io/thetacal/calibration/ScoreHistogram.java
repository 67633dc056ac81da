package io.thetacal.calibration;

import java.util.Arrays;

/**
 * Integer counts of pre-softmax scores in equal-width bins between fixed edges, with an underflow bin
 * (scores below {@code min}) first and an overflow bin (scores at or above {@code max}) last. Immutable.
 */
public final class ScoreHistogram {
  private final double min;
  private final double max;
  private final long[] counts;

  /** @param counts underflow, {@code counts.length - 2} equal-width bins, overflow */
  public ScoreHistogram(double min, double max, long[] counts) {
    if (!(min < max) || counts.length < 3) {
      throw new IllegalArgumentException("a histogram needs min < max and at least one bin, got ["
          + min + ", " + max + ") with " + (counts.length - 2) + " bins");
    }
    this.min = min;
    this.max = max;
    this.counts = counts.clone();
  }

  public double min() {
    return min;
  }

  public double max() {
    return max;
  }

  /** Equal-width bins between min and max (under- and overflow excluded). */
  public int bins() {
    return counts.length - 2;
  }

  public double binWidth() {
    return (max - min) / bins();
  }

  /** Count of slot i: 0 is underflow, 1..bins the bins, bins + 1 overflow. */
  public long count(int slot) {
    return counts[slot];
  }

  public long[] counts() {
    return counts.clone();
  }

  public long total() {
    long t = 0;
    for (long c : counts) {
      t += c;
    }
    return t;
  }

  /**
   * The score θ above which {@code above} of the counted scores lie, reading the histogram as uniform
   * within each bin (linear interpolation). Clamped to [min, max]: when more than {@code above} scores
   * are in the overflow bin the result is max, when fewer than {@code above} are at or above min it is
   * min. {@code above} may be fractional.
   */
  public double scoreWithCountAbove(double above) {
    if (above <= counts[counts.length - 1]) {
      return max;
    }
    double cum = counts[counts.length - 1];
    double w = binWidth();
    for (int i = bins(); i >= 1; i--) {
      long c = counts[i];
      if (c > 0 && cum + c >= above) {
        double upper = min + i * w;
        return upper - (above - cum) / c * w;
      }
      cum += c;
    }
    return min;
  }

  /**
   * Bin edges of all slots: the underflow and overflow slots become bins one bin width wide just outside
   * [min, max], so that mass which left the range still counts as having moved (by about one bin).
   */
  public double[] edgesWithOpenEnds() {
    double w = binWidth();
    double[] edges = new double[counts.length + 1];
    for (int i = 0; i < edges.length; i++) {
      edges[i] = i == 1 ? min : i == edges.length - 2 ? max : min + (i - 1) * w;
    }
    return edges;
  }

  /**
   * Wasserstein-1 (earth mover's) distance between the normalised distributions of two histograms with
   * the same edges, in score units, through {@link Drift} over {@link #edgesWithOpenEnds()}. 0 when both
   * are empty, NaN when exactly one is.
   */
  public static double wasserstein1(ScoreHistogram a, ScoreHistogram b) {
    if (a.min != b.min || a.max != b.max || a.counts.length != b.counts.length) {
      throw new IllegalArgumentException("histograms must share edges to be compared: [" + a.min + ", "
          + a.max + ") x " + a.bins() + " vs [" + b.min + ", " + b.max + ") x " + b.bins());
    }
    long ta = a.total();
    long tb = b.total();
    if (ta == 0 || tb == 0) {
      return ta == tb ? 0 : Double.NaN;
    }
    return Drift.wasserstein1(a.edgesWithOpenEnds(), a.counts, b.counts);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ScoreHistogram h && h.min == min && h.max == max
        && Arrays.equals(h.counts, counts);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(counts);
  }
}
