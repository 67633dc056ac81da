package io.thetacal.calibration;

import io.thetacal.attention.Placement;

/** The estimators: the paper's mean + σ·std, and a histogram quantile. */
public final class Estimators {
  private Estimators() {
  }

  /** θ = mean(t_row(k)) + σ_add · std(t_row(k)), by the recipe of {@link Moments}. */
  public static Estimator meanStd(double sigmaAdd) {
    if (!Double.isFinite(sigmaAdd)) {
      throw new IllegalArgumentException("'sigmaAdd' is set to " + sigmaAdd + " but must be finite");
    }
    return new MeanStd(sigmaAdd);
  }

  /**
   * Kept-count matching: θ such that the calibration rows of the (layer, head, n-bucket) keep k elements
   * on average. With R rows and E scores in the bucket (mean row length n̄ = E / R), θ is the value above
   * which k · R of the bucket's pooled values lie, i.e. the quantile 1 − k / n̄, read from the bucket's
   * histogram with linear interpolation within a bin ({@link ScoreHistogram#scoreWithCountAbove}).
   * Pre-softmax it reads the score histogram; post-softmax the log-probability histogram, θ = e^q. Unlike
   * the mean of per-row thresholds (whose kept count is biased upward when rows differ: a row with a low
   * t_row keeps many more than k at a shared θ, a row with a high t_row can keep at most k fewer), it
   * matches the mean kept count itself. Cells without a calibration row with n > k are NaN.
   */
  public static Estimator histogramQuantile() {
    return HistogramQuantile.INSTANCE;
  }

  record MeanStd(double sigmaAdd) implements Estimator {
    @Override
    public EstimatorKind kind() {
      return EstimatorKind.MEAN_STD;
    }

    @Override
    public String parameters() {
      return "sigmaAdd=" + sigmaAdd;
    }

    @Override
    public float theta(CalibrationState state, Placement placement, int layer, int head, int bucket,
        int kIndex) {
      Moments m = state.moments(placement, layer, head, bucket, kIndex);
      return m.count() == 0 ? Float.NaN : m.theta(sigmaAdd);
    }
  }

  private enum HistogramQuantile implements Estimator {
    INSTANCE;

    @Override
    public EstimatorKind kind() {
      return EstimatorKind.HISTOGRAM_QUANTILE;
    }

    @Override
    public String parameters() {
      return "";
    }

    @Override
    public float theta(CalibrationState state, Placement placement, int layer, int head, int bucket,
        int kIndex) {
      if (state.rows(layer, head, bucket, kIndex) == 0) {
        return Float.NaN;
      }
      double above = (double) state.config().kGrid().get(kIndex)
          * state.histogramRows(layer, head, bucket, kIndex);
      if (placement == Placement.PRE_SOFTMAX) {
        return (float) state.histogram(layer, head, bucket, kIndex).scoreWithCountAbove(above);
      }
      return (float) StrictMath.exp(
          state.logProbabilityHistogram(layer, head, bucket, kIndex).scoreWithCountAbove(above));
    }
  }
}
