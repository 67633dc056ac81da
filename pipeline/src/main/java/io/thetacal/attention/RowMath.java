package io.thetacal.attention;

/**
 * The elementwise loops of the attention kernel (row max, shifted exponentials and their sum, scaling),
 * on the Vector API when the {@code jdk.incubator.vector} module is present (SIMD exp, about 20x faster
 * than {@link Math#exp}) and in scalar Java otherwise. Both agree to 1 ulp per element.
 */
final class RowMath {
  static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
      && !Boolean.getBoolean("thetacal.attention.scalar");

  private RowMath() {
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

  /** out[j] = e^(a[off + j] - m) for j < n; returns Σ out[j]. */
  static double expShifted(float[] a, int off, int n, float m, float[] out) {
    if (VECTOR) {
      return VectorRowMath.expShifted(a, off, n, m, out);
    }
    double sum = 0;
    for (int j = 0; j < n; j++) {
      float e = (float) Math.exp(a[off + j] - m);
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
