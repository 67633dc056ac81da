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
   * θ from the (layer, head, n-bucket) score histogram: with R rows and E scores in the bucket (mean row
   * length n̄ = E / R), θ is the score above which k · R scores lie, i.e. the quantile 1 − k / n̄ of the
   * bucket's pooled scores, interpolated linearly within a bin ({@link
   * ScoreHistogram#scoreWithCountAbove}). So the rows of the bucket keep k elements on average. Cells
   * without a calibration row with n > k are NaN. Pre-softmax placement only.
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
      if (placement != Placement.PRE_SOFTMAX) {
        throw new IllegalArgumentException("'estimator' is set to HISTOGRAM_QUANTILE but placement "
            + placement + " is not supported: score histograms give pre-softmax thresholds only");
      }
      if (state.rows(layer, head, bucket, kIndex) == 0) {
        return Float.NaN;
      }
      long rows = state.histogramRows(layer, head, bucket);
      int k = state.config().kGrid().get(kIndex);
      return (float) state.histogram(layer, head, bucket).scoreWithCountAbove((double) k * rows);
    }
  }
}
