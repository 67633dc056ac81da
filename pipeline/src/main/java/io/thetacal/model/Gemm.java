package io.thetacal.model;

import dev.ludovic.netlib.blas.BLAS;

/**
 * Row-major single-precision matrix products on top of a column-major BLAS (dev.ludovic.netlib: native
 * OpenBLAS when installed, otherwise its Vector API / Java implementation).
 */
public final class Gemm {
  private static final BLAS BLAS_INSTANCE = BLAS.getInstance();

  private Gemm() {
  }

  /** The BLAS implementation in use, for benchmark reports. */
  public static String implementation() {
    return BLAS_INSTANCE.getClass().getName();
  }

  /**
   * C[m×n] = alpha · A[m×k] · B[k×n] + beta · C, all row-major with the given leading dimensions
   * (row strides) and offsets.
   */
  public static void mul(int m, int n, int k, float alpha, float[] a, int aOff, int lda, float[] b,
      int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
    BLAS_INSTANCE.sgemm("N", "N", n, m, k, alpha, b, bOff, ldb, a, aOff, lda, beta, c, cOff, ldc);
  }

  /** C[m×n] = alpha · A[m×k] · B[n×k]ᵀ + beta · C, row-major: B holds n rows of length k. */
  public static void mulTransposed(int m, int n, int k, float alpha, float[] a, int aOff, int lda,
      float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
    BLAS_INSTANCE.sgemm("T", "N", n, m, k, alpha, b, bOff, ldb, a, aOff, lda, beta, c, cOff, ldc);
  }

  /** Convenience: dense row-major C = A · B with contiguous operands. */
  public static void mul(int m, int n, int k, float[] a, float[] b, float[] c) {
    mul(m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
  }
}
