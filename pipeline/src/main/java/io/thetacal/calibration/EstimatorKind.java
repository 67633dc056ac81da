package io.thetacal.calibration;

/** How θ is derived from the calibration statistics. */
public enum EstimatorKind {
  /** The paper's estimator: θ = mean(t_row(k)) + σ_add · std(t_row(k)) per (layer, head, n-bucket, k). */
  MEAN_STD,
  /**
   * θ from the per-(layer, head, n-bucket) score histogram: the score above which k of the bucket's
   * mean row length fall, see {@link Estimators#histogramQuantile()}.
   */
  HISTOGRAM_QUANTILE
}
