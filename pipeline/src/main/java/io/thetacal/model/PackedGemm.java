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
    Kernel.mulAdd(m, n, k, a, aOff, lda, panels, c, cOff, ldc, null, null, 0, 0, false);
  }

  /**
   * C[m×n] = A[m×k] · W + bias (+ R) (then, when {@code gelu}, the exact GELU of each element), with the
   * bias and residual added in the same pass as the products instead of a pass of their own. Each element
   * is (bias_j + R_ij) + the first k slice's sum, then + each later slice's sum, in that order: the bits
   * of {@code C = bias + R} followed by {@link #mulAdd}. R is null or row-major at rOff with stride ldr.
   */
  public void mulBias(int m, float[] a, int aOff, int lda, float[] bias, float[] r, int rOff, int ldr,
      boolean gelu, float[] c, int cOff, int ldc) {
    if (m <= 0) {
      return;
    }
    if (lda < k || ldc < n || aOff < 0 || cOff < 0 || bias.length < n
        || aOff + (long) (m - 1) * lda + k > a.length || cOff + (long) (m - 1) * ldc + n > c.length
        || r != null && (ldr < n || rOff < 0 || rOff + (long) (m - 1) * ldr + n > r.length)) {
      throw new IndexOutOfBoundsException("operands too small for " + m + "x" + n + "x" + k
          + " (lda " + lda + ", ldc " + ldc + ", ldr " + ldr + ", bias " + bias.length + ")");
    }
    Kernel.mulAdd(m, n, k, a, aOff, lda, panels, c, cOff, ldc, bias, r, rOff, ldr, gelu);
  }

  /**
   * C[m×n] = alpha · A[m×k] · B[n×k]ᵀ, row-major, B packed per call: for small products such as one
   * attention head's scores. Each element is one float FMA chain over k in ascending order, times alpha.
   * Runs on the BLAS ({@link Gemm}) when packed products are not available.
   */
  public static void mulTransposed(int m, int n, int k, float alpha, float[] a, int aOff, int lda,
      float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
    if (!AVAILABLE) {
      Gemm.mulTransposed(m, n, k, alpha, a, aOff, lda, b, bOff, ldb, 0f, c, cOff, ldc);
      return;
    }
    if (m <= 0 || n <= 0) {
      return;
    }
    if (k <= 0 || lda < k || ldb < k || ldc < n || aOff < 0 || bOff < 0 || cOff < 0
        || aOff + (long) (m - 1) * lda + k > a.length || bOff + (long) (n - 1) * ldb + k > b.length
        || cOff + (long) (m - 1) * ldc + n > c.length) {
      throw new IndexOutOfBoundsException("operands too small for " + m + "x" + n + "x" + k
          + " (lda " + lda + ", ldb " + ldb + ", ldc " + ldc + ")");
    }
    int panelCount = (n + NR - 1) / NR;
    float[] p = scratch(panelCount * NR * k);
    for (int jp = 0; jp < panelCount; jp++) {
      int base = jp * NR * k;
      int cols = Math.min(NR, n - jp * NR);
      for (int jj = 0; jj < cols; jj++) {
        int bo = bOff + (jp * NR + jj) * ldb;
        for (int kk = 0; kk < k; kk++) {
          p[base + kk * NR + jj] = b[bo + kk];
        }
      }
      for (int jj = cols; jj < NR; jj++) {
        for (int kk = 0; kk < k; kk++) {
          p[base + kk * NR + jj] = 0f;
        }
      }
    }
    Kernel.mulSet(m, n, k, alpha, a, aOff, lda, p, 0, NR, k * NR, c, cOff, ldc);
  }

  /**
   * C[m×n] = A[m×k] · B[k×n], row-major, B read in place (each {@value #NR} columns of its rows are a
   * panel), when n is a multiple of {@value #NR}: for small products such as one attention head's weights
   * times its V rows, which would otherwise be copied once per head. Each
   * element is one float FMA chain over k in ascending order. Runs on the BLAS ({@link Gemm}) otherwise.
   */
  public static void mul(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
      float[] c, int cOff, int ldc) {
    if (!AVAILABLE || n % NR != 0) {
      Gemm.mul(m, n, k, 1f, a, aOff, lda, b, bOff, ldb, 0f, c, cOff, ldc);
      return;
    }
    if (m <= 0 || n <= 0) {
      return;
    }
    if (k <= 0 || lda < k || ldb < n || ldc < n || aOff < 0 || bOff < 0 || cOff < 0
        || aOff + (long) (m - 1) * lda + k > a.length || bOff + (long) (k - 1) * ldb + n > b.length
        || cOff + (long) (m - 1) * ldc + n > c.length) {
      throw new IndexOutOfBoundsException("operands too small for " + m + "x" + n + "x" + k
          + " (lda " + lda + ", ldb " + ldb + ", ldc " + ldc + ")");
    }
    Kernel.mulSet(m, n, k, 1f, a, aOff, lda, b, bOff, ldb, NR, c, cOff, ldc);
  }

  private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

  /** This thread's packing buffer, at least {@code size} floats. */
  private static float[] scratch(int size) {
    float[] p = SCRATCH.get();
    if (p.length < size) {
      p = new float[size];
      SCRATCH.set(p);
    }
    return p;
  }

  /** Loaded only when the incubator module is present. */
  private static final class Kernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
    private static final int L = 16;

    static boolean supported() {
      return FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    }

    static void mulAdd(int m, int n, int k, float[] a, int aOff, int lda, float[] p, float[] c,
        int cOff, int ldc, float[] bias, float[] r, int rOff, int ldr, boolean gelu) {
      float[] t = new float[MR * NR];
      for (int k0 = 0; k0 < k; k0 += KC) {
        int kc = Math.min(KC, k - k0);
        // the first slice adds the bias (and residual) when there is one; the last applies GELU
        boolean init = k0 == 0 && bias != null;
        boolean act = gelu && k0 + kc >= k;
        for (int i0 = 0; i0 < m; i0 += MC) {
          int i1 = Math.min(m, i0 + MC);
          int iFull = i1 - (i1 - i0) % MR;
          for (int j0 = 0; j0 < n; j0 += NR) {
            int po = j0 * k + k0 * NR;
            int i = i0;
            for (; i < iFull; i += MR) {
              int co = cOff + i * ldc + j0;
              if (init) {
                initTile(c, co, ldc, MR, bias, j0, r, rOff + i * ldr + j0, ldr);
              }
              tile8(a, aOff + i * lda + k0, lda, p, po, kc, c, co, ldc, t);
              if (act) {
                gelu(c, co, ldc, MR);
              }
            }
            for (; i < i1; i++) {
              int co = cOff + i * ldc + j0;
              if (init) {
                initTile(c, co, 0, 1, bias, j0, r, rOff + i * ldr + j0, 0);
              }
              tile1(a, aOff + i * lda + k0, p, po, NR, kc, c, co, ADD, 1f);
              if (act) {
                gelu(c, co, 0, 1);
              }
            }
          }
        }
      }
    }

    /**
     * C = alpha · A · B over whole k (no slices), B in panels of {@value #NR} columns: panel jp starts at
     * pOff + jp · panelStride and its k rows are ldp apart. Packed panels [n / NR][k][NR] (the last one
     * padded when n % NR is not 0) have ldp NR; a row-major B read in place has ldp its row stride.
     */
    static void mulSet(int m, int n, int k, float alpha, float[] a, int aOff, int lda, float[] p, int pOff,
        int ldp, int panelStride, float[] c, int cOff, int ldc) {
      float[] t = n % NR == 0 ? null : new float[MR * NR];
      int iFull = m - m % MR;
      for (int j0 = 0, jp = 0; j0 < n; j0 += NR, jp++) {
        int po = pOff + jp * panelStride;
        int cols = Math.min(NR, n - j0);
        int i = 0;
        for (; i < iFull; i += MR) {
          if (cols == NR) {
            tile8Set(a, aOff + i * lda, lda, p, po, ldp, k, alpha, c, cOff + i * ldc + j0, ldc);
          } else {
            tile8Set(a, aOff + i * lda, lda, p, po, ldp, k, alpha, t, 0, NR);
            setPartial(t, MR, cols, c, cOff + i * ldc + j0, ldc);
          }
        }
        for (; i < m; i++) {
          if (cols == NR) {
            tile1(a, aOff + i * lda, p, po, ldp, k, c, cOff + i * ldc + j0, SET, alpha);
          } else {
            tile1(a, aOff + i * lda, p, po, ldp, k, t, 0, SET, alpha);
            setPartial(t, 1, cols, c, cOff + i * ldc + j0, 0);
          }
        }
      }
    }

    /** c += sum. */
    static final int ADD = 0;
    /** c = alpha · sum. */
    static final int SET = 2;

    /** Copies the first {@code cols} columns of t (rows of stride {@value #NR}) into c. */
    private static void setPartial(float[] t, int rows, int cols, float[] c, int co, int ldc) {
      for (int i = 0; i < rows; i++) {
        System.arraycopy(t, i * NR, c, co + i * ldc, cols);
      }
    }

    /**
     * c = bias (+ r) on a tile of {@code rows} rows × {@value #NR} columns, just before its first slice
     * is added: the same bits as adding bias and residual in a pass of their own, with the tile in cache.
     */
    private static void initTile(float[] c, int co, int ldc, int rows, float[] bias, int bo, float[] r, int ro,
        int ldr) {
      FloatVector b0 = FloatVector.fromArray(S, bias, bo);
      FloatVector b1 = FloatVector.fromArray(S, bias, bo + L);
      for (int i = 0; i < rows; i++) {
        int o = co + i * ldc;
        if (r == null) {
          b0.intoArray(c, o);
          b1.intoArray(c, o + L);
        } else {
          b0.add(FloatVector.fromArray(S, r, ro + i * ldr)).intoArray(c, o);
          b1.add(FloatVector.fromArray(S, r, ro + i * ldr + L)).intoArray(c, o + L);
        }
      }
    }

    /**
     * The exact GELU in place on a tile of {@code rows} rows × {@value #NR} columns of c: 0.5 · v ·
     * (1 + erf(v / √2)) with {@link Erf}'s rational form and constants, operation for operation, so
     * lanes give the scalar's bits. Written out in the loop: a vector passed to a method that is not
     * inlined is boxed. The constants are vectors made once, not scalars broadcast by each operation: with
     * scalar operands the stored product was, in some JVMs, left boxed by C2 (an allocation per vector,
     * about 57 MB per encoder pass).
     */
    private static void gelu(float[] c, int co, int ldc, int rows) {
      FloatVector rsqrt2 = FloatVector.broadcast(S, Erf.RSQRT2);
      FloatVector hi = FloatVector.broadcast(S, Erf.CLAMP);
      FloatVector lo = FloatVector.broadcast(S, -Erf.CLAMP);
      FloatVector p0 = FloatVector.broadcast(S, Erf.P0);
      FloatVector p1 = FloatVector.broadcast(S, Erf.P1);
      FloatVector p2 = FloatVector.broadcast(S, Erf.P2);
      FloatVector p3 = FloatVector.broadcast(S, Erf.P3);
      FloatVector p4 = FloatVector.broadcast(S, Erf.P4);
      FloatVector p5 = FloatVector.broadcast(S, Erf.P5);
      FloatVector p6 = FloatVector.broadcast(S, Erf.P6);
      FloatVector q0 = FloatVector.broadcast(S, Erf.Q0);
      FloatVector q1 = FloatVector.broadcast(S, Erf.Q1);
      FloatVector q2 = FloatVector.broadcast(S, Erf.Q2);
      FloatVector q3 = FloatVector.broadcast(S, Erf.Q3);
      FloatVector q4 = FloatVector.broadcast(S, Erf.Q4);
      FloatVector half = FloatVector.broadcast(S, 0.5f);
      FloatVector one = FloatVector.broadcast(S, 1f);
      for (int i = 0; i < rows; i++) {
        for (int h = 0; h < NR; h += L) {
          int o = co + i * ldc + h;
          FloatVector v = FloatVector.fromArray(S, c, o);
          FloatVector x = v.mul(rsqrt2).min(hi).max(lo);
          FloatVector x2 = x.mul(x);
          FloatVector p = x2.mul(p0).add(p1);
          p = p.mul(x2).add(p2);
          p = p.mul(x2).add(p3);
          p = p.mul(x2).add(p4);
          p = p.mul(x2).add(p5);
          p = p.mul(x2).add(p6);
          FloatVector q = x2.mul(q0).add(q1);
          q = q.mul(x2).add(q2);
          q = q.mul(x2).add(q3);
          q = q.mul(x2).add(q4);
          v.mul(half).mul(x.mul(p).div(q).add(one)).intoArray(c, o);
        }
      }
    }

    private static void tile1(float[] a, int ao, float[] p, int po, int ldp, int kc, float[] c, int co,
        int mode, float alpha) {
      FloatVector c0 = FloatVector.zero(S);
      FloatVector c1 = FloatVector.zero(S);
      for (int kk = 0; kk < kc; kk++) {
        int q = po + kk * ldp;
        FloatVector v = FloatVector.broadcast(S, a[ao + kk]);
        c0 = FloatVector.fromArray(S, p, q).fma(v, c0);
        c1 = FloatVector.fromArray(S, p, q + L).fma(v, c1);
      }
      if (mode == SET) {
        c0.mul(alpha).intoArray(c, co);
        c1.mul(alpha).intoArray(c, co + L);
      } else {
        c0.add(FloatVector.fromArray(S, c, co)).intoArray(c, co);
        c1.add(FloatVector.fromArray(S, c, co + L)).intoArray(c, co + L);
      }
    }

    /**
     * 8 rows × 32 columns in 16 accumulators; per k two panel loads and eight broadcasts; c += sum, by
     * way of t, a scratch tile of {@value #MR} × {@value #NR}.
     */
    private static void tile8(float[] a, int ao, int lda, float[] p, int po, int kc, float[] c, int co,
        int ldc, float[] t) {
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
      // The accumulators are stored as they leave the loop, then added to c in a pass over the stored
      // tile: adding c to them before their stores left them boxed by C2 in some JVMs (an allocation
      // per store, about 40 % slower), as scaling them did in tile8Set.
      c00.intoArray(t, 0);
      c01.intoArray(t, L);
      c10.intoArray(t, NR);
      c11.intoArray(t, NR + L);
      c20.intoArray(t, 2 * NR);
      c21.intoArray(t, 2 * NR + L);
      c30.intoArray(t, 3 * NR);
      c31.intoArray(t, 3 * NR + L);
      c40.intoArray(t, 4 * NR);
      c41.intoArray(t, 4 * NR + L);
      c50.intoArray(t, 5 * NR);
      c51.intoArray(t, 5 * NR + L);
      c60.intoArray(t, 6 * NR);
      c61.intoArray(t, 6 * NR + L);
      c70.intoArray(t, 7 * NR);
      c71.intoArray(t, 7 * NR + L);
      for (int r = 0, o = co; r < MR; r++, o += ldc) {
        FloatVector.fromArray(S, t, r * NR).add(FloatVector.fromArray(S, c, o)).intoArray(c, o);
        FloatVector.fromArray(S, t, r * NR + L).add(FloatVector.fromArray(S, c, o + L)).intoArray(c, o + L);
      }
    }

    /** {@link #tile8} storing alpha · sum (the sum's bits when alpha is 1). */
    private static void tile8Set(float[] a, int ao, int lda, float[] p, int po, int ldp, int kc, float alpha,
        float[] c, int co, int ldc) {
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
        int q = po + kk * ldp;
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
      c00.intoArray(c, co);
      c01.intoArray(c, co + L);
      c10.intoArray(c, o1);
      c11.intoArray(c, o1 + L);
      c20.intoArray(c, o2);
      c21.intoArray(c, o2 + L);
      c30.intoArray(c, o3);
      c31.intoArray(c, o3 + L);
      c40.intoArray(c, o4);
      c41.intoArray(c, o4 + L);
      c50.intoArray(c, o5);
      c51.intoArray(c, o5 + L);
      c60.intoArray(c, o6);
      c61.intoArray(c, o6 + L);
      c70.intoArray(c, o7);
      c71.intoArray(c, o7 + L);
      if (alpha == 1f) {
        return;
      }
      // Scaled in a pass of its own over the stored tile: scaling the loop's accumulators before the
      // stores left some of them boxed by C2 in some JVMs (an allocation per store).
      FloatVector al = FloatVector.broadcast(S, alpha);
      for (int r = 0, o = co; r < MR; r++, o += ldc) {
        FloatVector.fromArray(S, c, o).mul(al).intoArray(c, o);
        FloatVector.fromArray(S, c, o + L).mul(al).intoArray(c, o + L);
      }
    }
  }
}
