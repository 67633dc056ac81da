package io.thetacal.calibration;

import java.math.BigInteger;

/**
 * Signed 128-bit two's-complement integers stored as (high, low) long pairs inside a long array, for
 * exact sums of fixed-point values. Every operation fails with an {@link ArithmeticException} instead of
 * wrapping around.
 */
final class Int128 {
  private Int128() {
  }

  /** a[i..i+1] += v (sign-extended). */
  static void add(long[] a, int i, long v) {
    long lo = a[i + 1];
    long nlo = lo + v;
    long carry = Long.compareUnsigned(nlo, lo) < 0 ? 1 : 0;
    a[i] = Math.addExact(a[i], (v >> 63) + carry);
    a[i + 1] = nlo;
  }

  /** a[i..i+1] += v², v any long. */
  static void addSquare(long[] a, int i, long v) {
    long hi = Math.multiplyHigh(v, v);
    long lo = v * v;
    addPair(a, i, hi, lo);
  }

  /** a[i..i+1] += (hi, lo). */
  static void addPair(long[] a, int i, long hi, long lo) {
    long alo = a[i + 1];
    long nlo = alo + lo;
    long carry = Long.compareUnsigned(nlo, alo) < 0 ? 1 : 0;
    a[i] = Math.addExact(a[i], Math.addExact(hi, carry));
    a[i + 1] = nlo;
  }

  static BigInteger toBigInteger(long hi, long lo) {
    return BigInteger.valueOf(hi).shiftLeft(64).add(new BigInteger(Long.toUnsignedString(lo)));
  }
}
