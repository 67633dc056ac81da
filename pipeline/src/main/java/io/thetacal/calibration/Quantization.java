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
 * Exponentials use {@link StrictMath#exp} so that every JVM computes the same bits.
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
    return Math.round(StrictMath.exp((double) t - max) / denominator * PROBABILITY_SCALE);
  }

  /** e^{a - m}, quantized. */
  static long mass(float a, float max) {
    return Math.round(StrictMath.exp((double) a - max) * MASS_SCALE);
  }

  static long denominator(double d) {
    return Math.round(d * MASS_SCALE);
  }

  /** Scale bits of the t_row values of a placement. */
  static int tBits(Placement p) {
    return p == Placement.PRE_SOFTMAX ? SCORE_BITS : PROBABILITY_BITS;
  }
}
