package io.thetacal.calibration;

import io.thetacal.attention.Placement;

/**
 * The fixed-point form in which calibration values are accumulated, so that sums are exact integers and
 * thresholds do not depend on partitioning or merge order.
 *
 * <ul>
 *   <li>scores (pre-softmax t_row): round(t · 2^32); exact for |t| >= 2^-9, |t| must be < 2^31;</li>
 *   <li>probabilities (post-softmax t_row, in [0, 1]): round(p · 2^48), absolute resolution 3.6e-15;</li>
 *   <li>softmax masses e^{a - m} (each <= 1) and denominators (< n): round(x · 2^40), absolute
 *       resolution 9.1e-13 in units of the row max's mass.</li>
 * </ul>
 * Exponentials round exactly as with {@link StrictMath#exp}, so that every JVM computes the same bits.
 */
final class Quantization {
  static final int SCORE_BITS = 32;
  static final int PROBABILITY_BITS = 48;
  static final int MASS_BITS = 40;
  private static final double SCORE_SCALE = 0x1p32;
  private static final double PROBABILITY_SCALE = 0x1p48;
  private static final double MASS_SCALE = 0x1p40;
  private static final double SCORE_LIMIT = 0x1p31;

  private Quantization() {
  }

  static long score(float t, int layer, int head) {
    if (!(Math.abs(t) < SCORE_LIMIT)) {
      throw new IllegalArgumentException("score " + t + " at layer " + layer + ", head " + head
          + " is outside the supported range (-2^31, 2^31)");
    }
    return Math.round(t * SCORE_SCALE);
  }

  /** Dense softmax probability of score t in a row with max m and denominator d, quantized. */
  static long probability(float t, float max, double denominator) {
    double x = (double) t - max;
    double q = Math.exp(x) / denominator * PROBABILITY_SCALE;
    return clearOfHalf(q) ? Math.round(q) : Math.round(StrictMath.exp(x) / denominator * PROBABILITY_SCALE);
  }

  /** e^{a - m}, quantized. */
  static long mass(float a, float max) {
    double x = (double) a - max;
    double q = Math.exp(x) * MASS_SCALE;
    return clearOfHalf(q) ? Math.round(q) : Math.round(StrictMath.exp(x) * MASS_SCALE);
  }

  /**
   * Whether q, computed with {@link Math#exp} (the fast intrinsic, within 1 ulp of e^x) instead of
   * {@link StrictMath#exp} (also within 1 ulp), rounds to the same integer as the StrictMath value: the
   * two differ by under 2 ulps before the division by the denominator and the power-of-two scale, so
   * they round alike unless q lies within a few ulps of a half-integer (then StrictMath decides). Keeps
   * every quantized value bitwise what StrictMath gives, at the intrinsic's speed.
   */
  private static boolean clearOfHalf(double q) {
    return q < 0x1p50 && Math.abs(q - Math.floor(q) - 0.5) > 16 * Math.ulp(q);
  }

  static long denominator(double d) {
    return Math.round(d * MASS_SCALE);
  }

  /** Scale bits of the t_row values of a placement. */
  static int tBits(Placement p) {
    return p == Placement.PRE_SOFTMAX ? SCORE_BITS : PROBABILITY_BITS;
  }
}
