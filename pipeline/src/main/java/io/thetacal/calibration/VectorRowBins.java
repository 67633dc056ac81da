package io.thetacal.calibration;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link RowBins} a vector of doubles at a time on the Vector API; only loaded when the incubator module
 * is present. The scores are widened to double first (one plain loop), each lane does the scalar path's
 * double arithmetic (IEEE, so the same roundings), and the truncation to an integer is done in the double
 * lanes (the value, clamped into [0, 2^31) and NaN mapped to 0, plus 2^52 rounds it to the nearest
 * integer in the low mantissa bits; one less where that rounded up), since shape-changing conversions are
 * not compiled to vector instructions on every JDK. So every result equals Java's cast.
 */
final class VectorRowBins {
  private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Long> L = LongVector.SPECIES_PREFERRED;
  private static final double TWO52 = 0x1p52;
  private static final long TWO52_BITS = Double.doubleToRawLongBits(TWO52);
  private static final int SUB = 1 << RowBins.SUB_BITS;

  private VectorRowBins() {
  }

  /**
   * Fills out[0 .. j) with the score codes of a[off ..]; returns j, a multiple of the vector length at
   * most n. x and t are scratch of at least n doubles and longs.
   */
  static int scoreCodes(float[] a, int off, int n, double min, double perUnit, int bins, double[] x, long[] t,
      int[] out) {
    widen(a, off, n, x);
    double top = bins << RowBins.SUB_BITS;
    int j = 0;
    for (int bound = D.loopBound(n); j < bound; j += D.length()) {
      DoubleVector v = DoubleVector.fromArray(D, x, j);
      DoubleVector s = v.sub(min).mul(perUnit).mul(SUB);
      VectorMask<Long> below = v.lt(min).cast(L);
      LongVector f = truncate(s, top);
      f.blend(-SUB, below).add(SUB).intoArray(t, j);
    }
    return narrow(t, j, out);
  }

  /**
   * Fills out[0 .. j) with the log-probability slots of a[off ..]; returns j, a multiple of the vector
   * length at most n. x and t are scratch of at least n doubles and longs.
   */
  static int logBins(float[] a, int off, int n, double shift, double perUnit, int bins, double[] x, long[] t,
      int[] out) {
    widen(a, off, n, x);
    int j = 0;
    for (int bound = D.loopBound(n); j < bound; j += D.length()) {
      DoubleVector s = DoubleVector.fromArray(D, x, j).sub(shift).mul(perUnit);
      VectorMask<Long> below = s.lt(0.0).cast(L);
      VectorMask<Long> above = s.compare(VectorOperators.GE, bins).cast(L);
      LongVector f = truncate(s, bins).add(1);
      f.blend(0, below).blend(bins + 1, above).intoArray(t, j);
    }
    return narrow(t, j, out);
  }

  /** x[j] = a[off + j] for j in [0, n). */
  private static void widen(float[] a, int off, int n, double[] x) {
    for (int j = 0; j < n; j++) {
      x[j] = a[off + j];
    }
  }

  /** out[i] = (int) t[i] for i in [0, j); returns j. */
  private static int narrow(long[] t, int j, int[] out) {
    for (int i = 0; i < j; i++) {
      out[i] = (int) t[i];
    }
    return j;
  }

  /** (long) of each lane clamped into [0, limit], NaN taken as 0; limit below 2^31. */
  private static LongVector truncate(DoubleVector s, double limit) {
    s = s.blend(0.0, s.test(VectorOperators.IS_NAN)).max(0.0).min(limit);
    DoubleVector r = s.add(TWO52);
    VectorMask<Long> roundedUp = r.sub(TWO52).compare(VectorOperators.GT, s).cast(L);
    LongVector bits = r.reinterpretAsLongs().sub(TWO52_BITS);
    return bits.sub(1L, roundedUp);
  }
}
