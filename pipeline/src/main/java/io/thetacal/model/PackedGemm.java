package io.thetacal.model;

import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * C += A · W for a fixed weight matrix W packed once into column panels, computed with 512-bit Vector API
 * register tiles. Used for a model's projections when the JVM runs 512-bit vectors: there it is about as
 * fast as an AVX-512 BLAS kernel and faster than a BLAS running AVX2 kernels (docs/benchmarks.md), and it
 * gets a layout chosen once at load instead of packing the weight in every call.
 *
 * <p>Each output element is summed as a float FMA chain over k in ascending order per slice of
 * {@value #KC}, and each slice's sum is then added to C (so a large C, such as a residual, does not
 * swallow the small products); results differ from a BLAS only by rounding order.
 */
public final class PackedGemm {
  /** System property: {@code false} keeps every product on the BLAS ({@link Gemm}). */
  public static final String ENABLED_PROPERTY = "thetacal.gemm.packed";

  /** Columns per panel: two 16-lane vectors. */
  static final int NR = 32;
  /** Rows per register tile. */
  static final int MR = 8;
  /**
   * k slice per pass: one slice for a 384-wide hidden layer; a panel slice (48 KiB) stays near L1. 256,
   * 384, 512 and 1536 measured within noise of each other here, 384 and 512 slightly ahead.
   */
  static final int KC = 384;
  /** Rows per block: a 256 × 384 slice of A (384 KiB) stays in L2 while every panel passes over it. */
  static final int MC = 256;

  private static final boolean AVAILABLE = detect();

  private final int k;
  private final int n;
  /** [n / NR][k][NR]. */
  private final float[] panels;

  private PackedGemm(int k, int n, float[] panels) {
    this.k = k;
    this.n = n;
    this.panels = panels;
  }

  private static boolean detect() {
    if (!Boolean.parseBoolean(System.getProperty(ENABLED_PROPERTY, "true"))) {
      return false;
    }
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return false;
    }
    try {
      return Kernel.supported();
    } catch (LinkageError e) {
      return false;
    }
  }

  /** Whether packed products run on this JVM (512-bit vectors, Vector API present, not disabled). */
  public static boolean available() {
    return AVAILABLE;
  }

  /**
   * Packs the row-major [k×n] matrix w, or returns null when packed products are not available or n is
   * not a multiple of {@value #NR} (callers then use {@link Gemm}).
   */
  public static PackedGemm packOrNull(float[] w, int k, int n) {
    Objects.requireNonNull(w, "w");
    if (!AVAILABLE || k <= 0 || n <= 0 || n % NR != 0) {
      return null;
    }
    if ((long) k * n > w.length) {
      throw new IllegalArgumentException("a " + k + "x" + n + " matrix needs " + (long) k * n
          + " floats but the array holds " + w.length);
    }
    float[] p = new float[k * n];
    int o = 0;
    for (int j0 = 0; j0 < n; j0 += NR) {
      for (int r = 0; r < k; r++, o += NR) {
        System.arraycopy(w, r * n + j0, p, o, NR);
      }
    }
    return new PackedGemm(k, n, p);
  }

  public int rows() {
    return k;
  }

  public int columns() {
    return n;
  }

  /**
   * C[m×n] += A[m×k] · W, row-major: A's rows start at aOff with stride lda, C's at cOff with stride ldc.
   */
  public void mulAdd(int m, float[] a, int aOff, int lda, float[] c, int cOff, int ldc) {
    if (m <= 0) {
      return;
    }
    if (lda < k || ldc < n || aOff < 0 || cOff < 0
        || aOff + (long) (m - 1) * lda + k > a.length || cOff + (long) (m - 1) * ldc + n > c.length) {
      throw new IndexOutOfBoundsException("operands too small for " + m + "x" + n + "x" + k
          + " (lda " + lda + ", ldc " + ldc + ")");
    }
    Kernel.mulAdd(m, n, k, a, aOff, lda, panels, c, cOff, ldc);
  }

  /** Loaded only when the incubator module is present. */
  private static final class Kernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
    private static final int L = 16;

    static boolean supported() {
      return FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    }

    static void mulAdd(int m, int n, int k, float[] a, int aOff, int lda, float[] p, float[] c, int cOff,
        int ldc) {
      for (int k0 = 0; k0 < k; k0 += KC) {
        int kc = Math.min(KC, k - k0);
        for (int i0 = 0; i0 < m; i0 += MC) {
          int i1 = Math.min(m, i0 + MC);
          int iFull = i1 - (i1 - i0) % MR;
          for (int j0 = 0; j0 < n; j0 += NR) {
            int po = j0 * k + k0 * NR;
            int i = i0;
            for (; i < iFull; i += MR) {
              tile8(a, aOff + i * lda + k0, lda, p, po, kc, c, cOff + i * ldc + j0, ldc);
            }
            for (; i < i1; i++) {
              tile1(a, aOff + i * lda + k0, p, po, kc, c, cOff + i * ldc + j0);
            }
          }
        }
      }
    }

    private static void tile1(float[] a, int ao, float[] p, int po, int kc, float[] c, int co) {
      FloatVector c0 = FloatVector.zero(S);
      FloatVector c1 = FloatVector.zero(S);
      for (int kk = 0; kk < kc; kk++) {
        int q = po + kk * NR;
        FloatVector v = FloatVector.broadcast(S, a[ao + kk]);
        c0 = FloatVector.fromArray(S, p, q).fma(v, c0);
        c1 = FloatVector.fromArray(S, p, q + L).fma(v, c1);
      }
      c0.add(FloatVector.fromArray(S, c, co)).intoArray(c, co);
      c1.add(FloatVector.fromArray(S, c, co + L)).intoArray(c, co + L);
    }

    /** 8 rows × 32 columns in 16 accumulators; per k two panel loads and eight broadcasts. */
    private static void tile8(float[] a, int ao, int lda, float[] p, int po, int kc, float[] c, int co,
        int ldc) {
      int o1 = co + ldc;
      int o2 = o1 + ldc;
      int o3 = o2 + ldc;
      int o4 = o3 + ldc;
      int o5 = o4 + ldc;
      int o6 = o5 + ldc;
      int o7 = o6 + ldc;
      FloatVector c00 = FloatVector.zero(S);
      FloatVector c01 = FloatVector.zero(S);
      FloatVector c10 = FloatVector.zero(S);
      FloatVector c11 = FloatVector.zero(S);
      FloatVector c20 = FloatVector.zero(S);
      FloatVector c21 = FloatVector.zero(S);
      FloatVector c30 = FloatVector.zero(S);
      FloatVector c31 = FloatVector.zero(S);
      FloatVector c40 = FloatVector.zero(S);
      FloatVector c41 = FloatVector.zero(S);
      FloatVector c50 = FloatVector.zero(S);
      FloatVector c51 = FloatVector.zero(S);
      FloatVector c60 = FloatVector.zero(S);
      FloatVector c61 = FloatVector.zero(S);
      FloatVector c70 = FloatVector.zero(S);
      FloatVector c71 = FloatVector.zero(S);
      int a1 = ao + lda;
      int a2 = a1 + lda;
      int a3 = a2 + lda;
      int a4 = a3 + lda;
      int a5 = a4 + lda;
      int a6 = a5 + lda;
      int a7 = a6 + lda;
      for (int kk = 0; kk < kc; kk++) {
        int q = po + kk * NR;
        FloatVector b0 = FloatVector.fromArray(S, p, q);
        FloatVector b1 = FloatVector.fromArray(S, p, q + L);
        FloatVector v = FloatVector.broadcast(S, a[ao + kk]);
        c00 = b0.fma(v, c00);
        c01 = b1.fma(v, c01);
        v = FloatVector.broadcast(S, a[a1 + kk]);
        c10 = b0.fma(v, c10);
        c11 = b1.fma(v, c11);
        v = FloatVector.broadcast(S, a[a2 + kk]);
        c20 = b0.fma(v, c20);
        c21 = b1.fma(v, c21);
        v = FloatVector.broadcast(S, a[a3 + kk]);
        c30 = b0.fma(v, c30);
        c31 = b1.fma(v, c31);
        v = FloatVector.broadcast(S, a[a4 + kk]);
        c40 = b0.fma(v, c40);
        c41 = b1.fma(v, c41);
        v = FloatVector.broadcast(S, a[a5 + kk]);
        c50 = b0.fma(v, c50);
        c51 = b1.fma(v, c51);
        v = FloatVector.broadcast(S, a[a6 + kk]);
        c60 = b0.fma(v, c60);
        c61 = b1.fma(v, c61);
        v = FloatVector.broadcast(S, a[a7 + kk]);
        c70 = b0.fma(v, c70);
        c71 = b1.fma(v, c71);
      }
      c00.add(FloatVector.fromArray(S, c, co)).intoArray(c, co);
      c01.add(FloatVector.fromArray(S, c, co + L)).intoArray(c, co + L);
      c10.add(FloatVector.fromArray(S, c, o1)).intoArray(c, o1);
      c11.add(FloatVector.fromArray(S, c, o1 + L)).intoArray(c, o1 + L);
      c20.add(FloatVector.fromArray(S, c, o2)).intoArray(c, o2);
      c21.add(FloatVector.fromArray(S, c, o2 + L)).intoArray(c, o2 + L);
      c30.add(FloatVector.fromArray(S, c, o3)).intoArray(c, o3);
      c31.add(FloatVector.fromArray(S, c, o3 + L)).intoArray(c, o3 + L);
      c40.add(FloatVector.fromArray(S, c, o4)).intoArray(c, o4);
      c41.add(FloatVector.fromArray(S, c, o4 + L)).intoArray(c, o4 + L);
      c50.add(FloatVector.fromArray(S, c, o5)).intoArray(c, o5);
      c51.add(FloatVector.fromArray(S, c, o5 + L)).intoArray(c, o5 + L);
      c60.add(FloatVector.fromArray(S, c, o6)).intoArray(c, o6);
      c61.add(FloatVector.fromArray(S, c, o6 + L)).intoArray(c, o6 + L);
      c70.add(FloatVector.fromArray(S, c, o7)).intoArray(c, o7);
      c71.add(FloatVector.fromArray(S, c, o7 + L)).intoArray(c, o7 + L);
    }
  }
}
