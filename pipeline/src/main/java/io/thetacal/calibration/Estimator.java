package io.thetacal.calibration;

import io.thetacal.attention.Placement;
import java.io.Serializable;

/** Turns the statistics of one (layer, head, n-bucket, k) cell of a calibration state into θ. */
public interface Estimator extends Serializable {

  /** Which estimator this is, as recorded in artifacts. */
  EstimatorKind kind();

  /** Parameters worth recording next to the kind, e.g. "sigmaAdd=0.1". */
  String parameters();

  /**
   * θ of the cell, or NaN when the cell saw no calibration row with n > k. Deterministic: a function of
   * the state's exact integers only.
   */
  float theta(CalibrationState state, Placement placement, int layer, int head, int bucket, int kIndex);
}
