package io.thetacal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Packed products against the BLAS ({@link Gemm}) on shapes with row, column and k remainders. */
class PackedGemmTest {

  private static float[] random(SplittableRandom r, int size) {
    float[] v = new float[size];
    for (int i = 0; i < size; i++) {
      v[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return v;
  }

  @Test
  void accumulatesTheSameProductAsTheBlasOnStridedOperands() {
    assumeTrue(PackedGemm.available(), "needs 512-bit Vector API lanes");
    SplittableRandom r = new SplittableRandom(7);
    int[][] shapes = {{1, 32, 1}, {7, 32, 5}, {8, 64, 256}, {19, 96, 300}, {131, 384, 384}, {64, 32, 1536}, {530, 64, 400}};
    for (int[] s : shapes) {
      int m = s[0];
      int n = s[1];
      int k = s[2];
      int lda = k + 3;
      int ldc = n + 5;
      int aOff = 11;
      int cOff = 2;
      float[] a = random(r, aOff + m * lda);
      float[] w = random(r, k * n);
      float[] c = random(r, cOff + m * ldc);
      float[] expected = c.clone();
      Gemm.mul(m, n, k, 1f, a, aOff, lda, w, 0, n, 1f, expected, cOff, ldc);
      PackedGemm p = PackedGemm.packOrNull(w, k, n);
      assertNotNull(p);
      p.mulAdd(m, a, aOff, lda, c, cOff, ldc);
      for (int i = 0; i < c.length; i++) {
        boolean inside = i >= cOff && (i - cOff) % ldc < n;
        float tol = inside ? 1e-5f * k : 0f;
        assertEquals(expected[i], c[i], tol, "shape " + m + "x" + n + "x" + k + ", element " + i);
      }
    }
  }

  /**
   * Every element is c + one float FMA chain over each k slice in ascending order, whichever register
   * tile (8 rows or 1) covered it: row counts here run into every tile and every rest.
   */
  @Test
  void eachElementIsOneFmaChainPerSliceWhicheverTileComputesIt() {
    assumeTrue(PackedGemm.available(), "needs 512-bit Vector API lanes");
    SplittableRandom r = new SplittableRandom(13);
    int[][] shapes = {{1, 32, 5}, {13, 32, 40}, {14, 64, 384}, {15, 32, 33}, {22, 32, 100}, {30, 96, 400},
        {128, 64, 384}, {127, 32, 64}, {300, 32, 800}, {531, 32, 96}};
    for (int[] s : shapes) {
      int m = s[0];
      int n = s[1];
      int k = s[2];
      float[] a = random(r, m * k);
      float[] w = random(r, k * n);
      float[] c = random(r, m * n);
      float[] expected = c.clone();
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          for (int k0 = 0; k0 < k; k0 += PackedGemm.KC) {
            float sum = 0f;
            for (int kk = k0; kk < Math.min(k, k0 + PackedGemm.KC); kk++) {
              sum = Math.fma(a[i * k + kk], w[kk * n + j], sum);
            }
            expected[i * n + j] += sum;
          }
        }
      }
      PackedGemm.packOrNull(w, k, n).mulAdd(m, a, 0, k, c, 0, n);
      assertArrayEquals(expected, c, "shape " + m + "x" + n + "x" + k);
    }
  }

  @Test
  void biasAndResidualInTheProductsPassGiveTheBitsOfAddingThemFirst() {
    assumeTrue(PackedGemm.available(), "needs 512-bit Vector API lanes");
    SplittableRandom r = new SplittableRandom(11);
    int[][] shapes = {{1, 32, 7}, {19, 96, 300}, {131, 64, 384}, {37, 32, 1536}};
    for (int[] s : shapes) {
      int m = s[0];
      int n = s[1];
      int k = s[2];
      float[] a = random(r, 3 + m * k);
      float[] w = random(r, k * n);
      float[] bias = random(r, n);
      float[] res = random(r, 5 + m * (n + 2));
      PackedGemm p = PackedGemm.packOrNull(w, k, n);
      for (boolean withResidual : new boolean[] {false, true}) {
        float[] expected = new float[1 + m * n];
        for (int i = 0; i < m; i++) {
          for (int j = 0; j < n; j++) {
            expected[1 + i * n + j] = withResidual ? bias[j] + res[5 + i * (n + 2) + j] : bias[j];
          }
        }
        p.mulAdd(m, a, 3, k, expected, 1, n);
        float[] c = new float[1 + m * n];
        p.mulBias(m, a, 3, k, bias, withResidual ? res : null, 5, n + 2, false, c, 1, n);
        assertArrayEquals(expected, c, "shape " + m + "x" + n + "x" + k + ", residual " + withResidual);
      }
    }
  }

  @Test
  void smallProductsMatchTheBlasOnHeadShapedOperands() {
    SplittableRandom r = new SplittableRandom(5);
    int[][] shapes = {{1, 1, 32}, {7, 7, 32}, {128, 128, 32}, {45, 45, 32}, {9, 33, 64}, {300, 70, 16}};
    for (int[] s : shapes) {
      int m = s[0];
      int n = s[1];
      int k = s[2];
      int ld = 3 * k + 4;
      float[] q = random(r, 2 + m * ld);
      float[] kb = random(r, 6 + n * ld);
      float[] expected = random(r, 1 + m * (n + 3));
      float[] c = expected.clone();
      Gemm.mulTransposed(m, n, k, 0.125f, q, 2, ld, kb, 6, ld, 0f, expected, 1, n + 3);
      PackedGemm.mulTransposed(m, n, k, 0.125f, q, 2, ld, kb, 6, ld, c, 1, n + 3);
      assertClose(expected, c, 1, n, n + 3, k, "scores " + m + "x" + n + "x" + k);

      // weights [m×n] times V [n×k]: k columns, V rows strided
      float[] v = random(r, 4 + n * ld);
      float[] out = random(r, 3 + m * (k + 5));
      float[] outExpected = out.clone();
      Gemm.mul(m, k, n, 1f, expected, 1, n + 3, v, 4, ld, 0f, outExpected, 3, k + 5);
      PackedGemm.mul(m, k, n, expected, 1, n + 3, v, 4, ld, out, 3, k + 5);
      assertClose(outExpected, out, 3, k, k + 5, n, "output " + m + "x" + k + "x" + n);
    }
  }

  /**
   * The weights-times-V product reads B in place, with any row stride and offset: each element is still
   * one float FMA chain over k in ascending order, for every tile and rest and for several panels.
   */
  @Test
  void productsReadingBInPlaceAreOneFmaChainPerElement() {
    assumeTrue(PackedGemm.available(), "needs 512-bit Vector API lanes");
    SplittableRandom r = new SplittableRandom(17);
    int[][] shapes = {{1, 32, 1}, {8, 32, 128}, {13, 64, 45}, {128, 32, 128}, {37, 96, 300}};
    for (int[] s : shapes) {
      int m = s[0];
      int n = s[1];
      int k = s[2];
      int lda = k + 3;
      int ldb = 3 * n + 5;
      float[] a = random(r, 2 + m * lda);
      float[] b = random(r, 7 + k * ldb);
      float[] c = random(r, 1 + m * (n + 4));
      float[] expected = c.clone();
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          float sum = 0f;
          for (int kk = 0; kk < k; kk++) {
            sum = Math.fma(a[2 + i * lda + kk], b[7 + kk * ldb + j], sum);
          }
          expected[1 + i * (n + 4) + j] = sum;
        }
      }
      PackedGemm.mul(m, n, k, a, 2, lda, b, 7, ldb, c, 1, n + 4);
      assertArrayEquals(expected, c, "shape " + m + "x" + n + "x" + k);
    }
  }

  private static void assertClose(float[] expected, float[] actual, int off, int cols, int ld, int k,
      String what) {
    for (int i = 0; i < actual.length; i++) {
      boolean inside = i >= off && (i - off) % ld < cols;
      assertEquals(expected[i], actual[i], inside ? 1e-5f * k : 0f, what + ", element " + i);
    }
  }

  @Test
  void widthsOffThePanelGridAreLeftToTheBlas() {
    assertNull(PackedGemm.packOrNull(new float[8 * 48], 8, 48));
  }

  @Test
  void operandsTooSmallForTheProductAreRejected() {
    assumeTrue(PackedGemm.available(), "needs 512-bit Vector API lanes");
    PackedGemm p = PackedGemm.packOrNull(new float[16 * 32], 16, 32);
    assertThrows(IndexOutOfBoundsException.class,
        () -> p.mulAdd(4, new float[4 * 16 - 1], 0, 16, new float[4 * 32], 0, 32));
    assertThrows(IndexOutOfBoundsException.class,
        () -> p.mulAdd(4, new float[4 * 16], 0, 16, new float[4 * 32], 1, 32));
    assertThrows(IllegalArgumentException.class, () -> PackedGemm.packOrNull(new float[15 * 32], 16, 32));
  }
}
