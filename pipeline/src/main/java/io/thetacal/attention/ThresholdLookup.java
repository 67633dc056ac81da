package io.thetacal.attention;

/**
 * What the attention kernel needs from a calibrated threshold table: θ and the offline SDC mass for a
 * (layer, query head, row length, k). Implementations resolve row lengths never seen in calibration to
 * the nearest calibrated length (beyond the longest: the last one).
 */
public interface ThresholdLookup {

  /** θ(layer, head, n, k); in score units for pre-softmax tables, probability units for post-softmax. */
  float threshold(int layer, int head, int n, int k);

  /** Mean pruned mass Σ_{j∉S} e^{a_j - m} measured at calibration, for {@link SdcMode#OFFLINE}. */
  double sdcMass(int layer, int head, int n, int k);

  /** The placement the thresholds were calibrated for. */
  Placement placement();

  /**
   * One θ for every (layer, head, n, k) and no offline SDC mass: for probing a model by hand (θ = −∞
   * keeps everything) and for tests.
   */
  static ThresholdLookup constant(float theta, Placement placement) {
    java.util.Objects.requireNonNull(placement, "placement");
    return new ThresholdLookup() {
      @Override
      public float threshold(int layer, int head, int n, int k) {
        return theta;
      }

      @Override
      public double sdcMass(int layer, int head, int n, int k) {
        return 0;
      }

      @Override
      public Placement placement() {
        return placement;
      }
    };
  }
}
