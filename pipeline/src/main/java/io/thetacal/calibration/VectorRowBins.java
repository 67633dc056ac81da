package io.thetacal.calibration;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link RowBins} a vector of floats at a time on the Vector API; only loaded when the incubator module is
 * present. The scalar path computes in double; each lane here computes the same expression in float, whose
 * distance to the double value has a bound ({@link #errorBound}) a few thousandths of a sub-bin wide. Where
 * the float value lies farther than that bound from every integer, both truncate alike; the lanes within it
 * (and NaN) are recomputed by the scalar path, so every result is exactly the scalar one. The truncation is
 * done in the float lanes (the value, clamped into [-1/4, top + 1/2], plus 2^23 rounds it to the nearest
 * integer in the low mantissa bits; one less where that rounded up), since conversions are not compiled to
 * vector instructions on every JDK. The lower clamp is a quarter, not a half: below 2^23 the sum has
 * half-integer steps, so a lane clamped to -1/2 would sit on a step and be sent to the scalar path, as
 * every score below the histogram would.
 */
final class VectorRowBins {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final float TWO23 = 0x1p23f;
  private static final int TWO23_BITS = Float.floatToRawIntBits(TWO23);
  /** The lower clamp of the scaled value, off the half-integer steps of the rounding sum (class docs). */
  private static final float LOWEST = -0.25f;
  private static final int SUB = 1 << RowBins.SUB_BITS;
  /** Error bounds from this sub-bin fraction on leave too many lanes to the scalar path: not used. */
  private static final double MAX_BOUND = 1.0 / 16;
  /** Offsets and extremes whose float is not finite, or not normal, are left to the scalar path. */
  private static final double MAX_MAGNITUDE = 0x1p100;

  private VectorRowBins() {
  }

  /**
   * A bound on |float value − double value| of {@code (v − offset) · perUnit} for every float v whose
   * double value lies in [−1, top + 1], or infinity where the float path is not used: three float roundings
   * (relative 2^-24 each) on a value of at most top + 2, the rounding of the offset to float scaled by
   * perUnit, and a margin of one float ulp at top + 2; doubled.
   */
  static double errorBound(double offset, double perUnit, double top) {
    float pf = (float) perUnit;
    if (!(Math.abs(offset) < MAX_MAGNITUDE) || !(perUnit < MAX_MAGNITUDE && pf >= Float.MIN_NORMAL)) {
      return Double.POSITIVE_INFINITY;
    }
    double bound = 2 * ((top + 2) * 3 * 0x1p-24 * 1.001 + perUnit * Math.ulp((float) offset)
        + Math.ulp((float) (top + 2)));
    return bound < MAX_BOUND ? bound : Double.POSITIVE_INFINITY;
  }

  /** Fills out[0 .. j) with the score codes of a[off ..]; returns j, a multiple of the vector length at most n. */
  static int scoreCodes(float[] a, int off, int n, double min, double perUnit, int bins, int[] out) {
    double perSub = perUnit * SUB;
    int top = bins << RowBins.SUB_BITS;
    double eps = errorBound(min, perSub, top);
    if (eps == Double.POSITIVE_INFINITY) {
      return 0;
    }
    float minF = (float) min;
    // the smallest float >= min: for a float v, v < min exactly when v < minCeil
    float minCeil = minF < min ? Math.nextUp(minF) : minF;
    float pf = (float) perSub;
    float epsF = (float) eps;
    int j = 0;
    for (int bound = F.loopBound(n); j < bound; j += F.length()) {
      FloatVector v = FloatVector.fromArray(F, a, off + j);
      FloatVector s = v.sub(minF).mul(pf).max(LOWEST).min(top + 0.5f);
      FloatVector r = s.add(TWO23);
      FloatVector nearest = r.sub(TWO23);
      VectorMask<Float> unclear = s.sub(nearest).abs().compare(VectorOperators.GT, epsF).not();
      IntVector floor = r.reinterpretAsInts().sub(TWO23_BITS)
          .sub(1, nearest.compare(VectorOperators.GT, s).cast(IntVector.SPECIES_PREFERRED));
      floor.add(SUB).blend(0, v.lt(minCeil).cast(IntVector.SPECIES_PREFERRED)).intoArray(out, j);
      if (unclear.anyTrue()) {
        for (int i = j; i < j + F.length(); i++) {
          out[i] = RowBins.scoreCode(a[off + i], min, perUnit, bins);
        }
      }
    }
    return j;
  }

  /**
   * Fills out[0 .. j) with the log-probability slots of a[off ..]; returns j, a multiple of the vector
   * length at most n.
   */
  static int logBins(float[] a, int off, int n, double shift, double perUnit, int bins, int[] out) {
    double eps = errorBound(shift, perUnit, bins);
    if (eps == Double.POSITIVE_INFINITY) {
      return 0;
    }
    float shiftF = (float) shift;
    float pf = (float) perUnit;
    float epsF = (float) eps;
    int j = 0;
    for (int bound = F.loopBound(n); j < bound; j += F.length()) {
      FloatVector s = FloatVector.fromArray(F, a, off + j).sub(shiftF).mul(pf).max(LOWEST).min(bins + 0.5f);
      FloatVector r = s.add(TWO23);
      FloatVector nearest = r.sub(TWO23);
      VectorMask<Float> unclear = s.sub(nearest).abs().compare(VectorOperators.GT, epsF).not();
      IntVector floor = r.reinterpretAsInts().sub(TWO23_BITS)
          .sub(1, nearest.compare(VectorOperators.GT, s).cast(IntVector.SPECIES_PREFERRED));
      floor.add(1).intoArray(out, j);
      if (unclear.anyTrue()) {
        for (int i = j; i < j + F.length(); i++) {
          out[i] = RowBins.logBin(a[off + i], shift, perUnit, bins);
        }
      }
    }
    return j;
  }
}
