package io.thetacal.attention;

/**
 * The elementwise loops of the attention kernel (row max, shifted exponentials and their sum, scaling),
 * on the Vector API when the {@code jdk.incubator.vector} module is present and in scalar Java
 * otherwise. The exponential is one fixed polynomial (Cephes expf, about 1 ulp) built from exactly
 * rounded operations, so every path and every JIT tier gives the same bits for the same row; a
 * library SIMD exp would differ by an ulp between interpreted and compiled code and make results depend
 * on warm-up.
 */
final class RowMath {
  static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
      && !Boolean.getBoolean("thetacal.attention.scalar");

  /**
   * Bytes of two of the widest vectors the Vector API has (2048 bits): the scratch {@link #expShifted}
   * needs (the exponent bits of one vector, and the lane sums).
   */
  static final int SCRATCH_BYTES = 512;

  static final float EXP_LO = -87f;
  static final float LOG2E = 1.44269504088896341f;
  static final float LN2_HI = 0.693359375f;
  static final float LN2_LO = -2.12194440e-4f;
  static final float ROUND = 12582912f; // 1.5 * 2^23: adding and subtracting it rounds to an integer
  static final float P0 = 1.9875691500e-4f;
  static final float P1 = 1.3981999507e-3f;
  static final float P2 = 8.3334519073e-3f;
  static final float P3 = 4.1665795894e-2f;
  static final float P4 = 1.6666665459e-1f;
  static final float P5 = 5.0000001201e-1f;

  private RowMath() {
  }

  /** e^x for x <= 0 (inputs below -87 give e^-87, negligible against a row max's e^0 = 1). */
  static float exp(float x) {
    x = Math.max(x, EXP_LO);
    float t = x * LOG2E + ROUND;
    float n = t - ROUND;
    float r = x - n * LN2_HI;
    r = r - n * LN2_LO;
    float z = r * r;
    float y = P0 * r + P1;
    y = y * r + P2;
    y = y * r + P3;
    y = y * r + P4;
    y = y * r + P5;
    y = y * z + r + 1f;
    // t = ROUND + n exactly, so its low mantissa bits hold the integer n.
    int k = Float.floatToRawIntBits(t) - Float.floatToRawIntBits(ROUND);
    return y * Float.intBitsToFloat((k + 127) << 23);
  }

  /** max of a[off .. off + n), or NaN when some value is NaN or infinite. */
  static float maxIfFinite(float[] a, int off, int n) {
    if (VECTOR) {
      return VectorRowMath.maxIfFinite(a, off, n);
    }
    float m = Float.NEGATIVE_INFINITY;
    for (int j = 0; j < n; j++) {
      float v = a[off + j];
      if (!Float.isFinite(v)) {
        return Float.NaN;
      }
      m = Math.max(m, v);
    }
    return m;
  }

  /**
   * out[j] = e^(a[off + j] - m) for j < n; returns Σ out[j]. {@code scratch} is the caller's, of at
   * least {@value #SCRATCH_BYTES} bytes (a thread-local buffer here cost more than the exponentials).
   */
  static double expShifted(float[] a, int off, int n, float m, float[] out, byte[] scratch) {
    if (VECTOR) {
      return VectorRowMath.expShifted(a, off, n, m, out, scratch);
    }
    double sum = 0;
    for (int j = 0; j < n; j++) {
      float e = exp(a[off + j] - m);
      out[j] = e;
      sum += e;
    }
    return sum;
  }

  /** dst[off + j] = src[j] · s for j < n. */
  static void scale(float[] src, float s, float[] dst, int off, int n) {
    if (VECTOR) {
      VectorRowMath.scale(src, s, dst, off, n);
      return;
    }
    for (int j = 0; j < n; j++) {
      dst[off + j] = src[j] * s;
    }
  }
}
