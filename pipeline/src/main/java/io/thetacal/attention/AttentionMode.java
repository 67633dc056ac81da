package io.thetacal.attention;

import java.util.Objects;

/**
 * How attention is computed in a forward pass. One of: dense; exact top-k; Top-θ with a calibrated
 * threshold table, a placement, a softmax-denominator compensation and optional V-mean compensation.
 */
public sealed interface AttentionMode {

  /** Ordinary softmax attention over all visible keys. */
  static AttentionMode dense() {
    return Dense.INSTANCE;
  }

  /** Keep exactly the k largest scores of each row and renormalise (rows with n <= k stay dense). */
  static AttentionMode topK(int k) {
    return new TopK(k);
  }

  /**
   * The exact top-k that Top-θ at a placement stands in for: pre-softmax the kept weights are
   * renormalised (dropped scores are -inf before the softmax); post-softmax the dropped probabilities
   * are zeroed and the kept ones stay as the dense softmax gave them. Top-k at calibration runs this
   * mode, so that each layer is calibrated on the activations it sees under that placement's Top-θ.
   */
  static AttentionMode topK(int k, Placement placement) {
    return new TopK(k, Objects.requireNonNull(placement, "placement") == Placement.PRE_SOFTMAX);
  }

  /** Top-θ pruning, see {@link TopTheta}. */
  static TopTheta topTheta(ThresholdLookup table, int k) {
    return new TopTheta(table, k, table.placement(), SdcMode.NONE, 1.0, false);
  }

  /** Dense attention. */
  enum Dense implements AttentionMode {
    INSTANCE
  }

  /**
   * Exact top-k: keeps the k largest scores (lowest index wins ties); the kept weights are renormalised
   * to sum to 1, or with {@code renormalise} false are the dense softmax probabilities (the dropped ones
   * zeroed, as post-softmax pruning does).
   */
  record TopK(int k, boolean renormalise) implements AttentionMode {
    public TopK {
      if (k <= 0) {
        throw new IllegalArgumentException("'k' is set to " + k + " but must be > 0");
      }
    }

    /** Top-k with renormalisation. */
    public TopK(int k) {
      this(k, true);
    }
  }

  /**
   * Top-θ: keeps {@code j} with a_j > θ (pre-softmax) or p_j > θ (post-softmax); rows with n <= k are
   * never thresholded.
   *
   * @param table calibrated thresholds
   * @param k the target kept elements per row the table was calibrated for
   * @param placement must equal the table's placement
   * @param sdc softmax-denominator compensation; must be NONE for post-softmax placement
   * @param sdcScale the factor s in D_kept + s·D_miss (1 by default)
   * @param vmc whether V-mean compensation adds (1 - Σ kept p) · v̄
   */
  record TopTheta(
      ThresholdLookup table, int k, Placement placement, SdcMode sdc, double sdcScale, boolean vmc)
      implements AttentionMode {
    public TopTheta {
      Objects.requireNonNull(table, "table");
      Objects.requireNonNull(placement, "placement");
      Objects.requireNonNull(sdc, "sdc");
      if (k <= 0) {
        throw new IllegalArgumentException("'k' is set to " + k + " but must be > 0");
      }
      if (placement != table.placement()) {
        throw new IllegalArgumentException(
            "'placement' is set to " + placement + " but the threshold table was calibrated for "
                + table.placement());
      }
      if (placement == Placement.POST_SOFTMAX && sdc != SdcMode.NONE) {
        throw new IllegalArgumentException(
            "'sdc' is set to " + sdc + " but must be NONE for POST_SOFTMAX placement"
                + " (softmax denominator compensation applies to pre-softmax pruning only)");
      }
      if (!(sdcScale >= 0) || Double.isInfinite(sdcScale)) {
        throw new IllegalArgumentException(
            "'sdcScale' is set to " + sdcScale + " but must be a finite number >= 0");
      }
    }

    public TopTheta withSdc(SdcMode mode) {
      return new TopTheta(table, k, placement, mode, sdcScale, vmc);
    }

    public TopTheta withSdcScale(double scale) {
      return new TopTheta(table, k, placement, sdc, scale, vmc);
    }

    public TopTheta withVmc(boolean on) {
      return new TopTheta(table, k, placement, sdc, sdcScale, on);
    }
  }
}
