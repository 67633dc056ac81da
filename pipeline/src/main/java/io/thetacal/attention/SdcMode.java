package io.thetacal.attention;

/**
 * Softmax denominator compensation: how the probability mass of pruned scores is put back into the
 * denominator (pre-softmax placement only). See TOP_THETA.md, "Compensation".
 */
public enum SdcMode {
  /** No compensation: softmax over the kept scores only. */
  NONE,
  /** D_miss = Σ_{j∉S} e^{a_j - m}; the reference, it costs a full pass over the row. */
  EXACT,
  /** D_miss = (n - |S|) · e^{θ - m}; an upper bound from the threshold alone. */
  EXP_THRESHOLD,
  /** D_miss = the mean pruned mass measured at calibration, stored next to θ. */
  OFFLINE
}
