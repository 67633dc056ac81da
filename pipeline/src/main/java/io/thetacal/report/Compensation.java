package io.thetacal.report;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.Placement;
import io.thetacal.attention.SdcMode;

/**
 * The compensation variants a report compares: softmax-denominator compensation (exact, from the
 * threshold, offline-calibrated), V-mean compensation, and their combinations. SDC exists for
 * pre-softmax placement only.
 */
public enum Compensation {
  NONE(SdcMode.NONE, false),
  SDC_EXACT(SdcMode.EXACT, false),
  SDC_EXP(SdcMode.EXP_THRESHOLD, false),
  SDC_OFFLINE(SdcMode.OFFLINE, false),
  VMC(SdcMode.NONE, true),
  SDC_EXACT_VMC(SdcMode.EXACT, true),
  SDC_EXP_VMC(SdcMode.EXP_THRESHOLD, true),
  SDC_OFFLINE_VMC(SdcMode.OFFLINE, true);

  private final SdcMode sdc;
  private final boolean vmc;

  Compensation(SdcMode sdc, boolean vmc) {
    this.sdc = sdc;
    this.vmc = vmc;
  }

  public SdcMode sdc() {
    return sdc;
  }

  public boolean vmc() {
    return vmc;
  }

  /** Whether this variant can run with the placement (SDC needs pre-softmax pruning). */
  public boolean appliesTo(Placement placement) {
    return sdc == SdcMode.NONE || placement == Placement.PRE_SOFTMAX;
  }

  /** The Top-θ mode with this compensation. */
  public AttentionMode.TopTheta applyTo(AttentionMode.TopTheta mode) {
    if (!appliesTo(mode.placement())) {
      throw new IllegalArgumentException("'compensation' is set to " + this
          + " but softmax denominator compensation needs PRE_SOFTMAX placement, not "
          + mode.placement());
    }
    return mode.withSdc(sdc).withVmc(vmc);
  }
}
