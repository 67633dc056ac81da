package io.thetacal.calibration;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Quantization#mass} for many scores at once on the Vector API; only loaded when the incubator
 * module is present. Each lane computes e^x (x = a - max <= 0) with a fixed polynomial (Cody-Waite
 * reduction by ln 2, Taylor series of degree 13 on |r| <= ln 2 / 2, within a few ulps of e^x), scales it
 * by 2^40 and rounds it to the nearest integer; a lane whose scaled value lies within 2^-6 of a
 * half-integer (far more than the few-ulp difference to {@link StrictMath#exp}: ulp(q) <= 2^-12 for
 * q <= 2^40) is left to {@link Quantization#mass}, so every result is exactly what StrictMath gives.
 * Scores more than 30 below the max have mass e^-30 · 2^40 < 0.1, which rounds to 0 either way.
 */
final class VectorMasses {
  private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
  private static final double LOG2E = 1.4426950408889634;
  /** fdlibm's ln 2 split: the high part has 21 trailing zero bits, so k · LN2_HI is exact. */
  private static final double LN2_HI = 6.93147180369123816490e-01;
  private static final double LN2_LO = 1.90821492927058770002e-10;
  private static final double ROUND = 0x1.8p52;
  private static final long ROUND_BITS = Double.doubleToRawLongBits(ROUND);
  private static final double TWO52 = 0x1p52;
  private static final long TWO52_BITS = Double.doubleToRawLongBits(TWO52);
  private static final double SCALE = 0x1p40;
  private static final double MARGIN = 0.5 - 0x1p-6;
  private static final double CUT = -30;
  private static final double[] INV_FACTORIAL = new double[14];

  static {
    double f = 1;
    for (int i = 0; i < INV_FACTORIAL.length; i++) {
      f *= Math.max(1, i);
      INV_FACTORIAL[i] = 1 / f;
    }
  }

  private VectorMasses() {
  }

  /**
   * out[p] = {@link Quantization#mass}(s[p], max) for p in [from, to); x is scratch of at least
   * {@code to} doubles.
   */
  static void masses(float[] s, int from, int to, float max, double[] x, long[] out) {
    for (int p = from; p < to; p++) {
      x[p] = (double) s[p] - max;
    }
    int p = from;
    for (int bound = from + S.loopBound(to - from); p < bound; p += S.length()) {
      DoubleVector v = DoubleVector.fromArray(S, x, p);
      VectorMask<Double> zero = v.lt(CUT);
      v = v.max(CUT);
      DoubleVector t = v.mul(LOG2E).add(ROUND);
      DoubleVector k = t.sub(ROUND);
      DoubleVector r = v.sub(k.mul(LN2_HI)).sub(k.mul(LN2_LO));
      DoubleVector y = DoubleVector.broadcast(S, INV_FACTORIAL[13]);
      for (int i = 12; i >= 0; i--) {
        y = y.mul(r).add(INV_FACTORIAL[i]);
      }
      LongVector e = t.reinterpretAsLongs().sub(ROUND_BITS).add(1023 + 40).lanewise(VectorOperators.LSHL, 52);
      DoubleVector q = y.mul(e.reinterpretAsDoubles());
      DoubleVector nearest = q.add(TWO52);
      DoubleVector dist = q.sub(nearest.sub(TWO52)).abs();
      VectorMask<Double> unclear = dist.compare(VectorOperators.GE, MARGIN);
      LongVector rounded = nearest.reinterpretAsLongs().sub(TWO52_BITS);
      rounded = rounded.blend(0L, zero.cast(rounded.species()));
      rounded = rounded.blend(-1L, unclear.andNot(zero).cast(rounded.species()));
      rounded.intoArray(out, p);
    }
    for (; p < to; p++) {
      out[p] = -1;
    }
    for (int i = from; i < to; i++) {
      if (out[i] < 0) {
        out[i] = Quantization.mass(s[i], max);
      }
    }
  }
}
