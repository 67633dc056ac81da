package io.thetacal.report;

/** The sparsification a report cell measures: calibrated Top-θ thresholds, or the exact top-k baseline. */
public enum Method {
  TOP_THETA,
  TOP_K
}
