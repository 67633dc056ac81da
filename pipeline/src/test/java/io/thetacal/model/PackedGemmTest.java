package io.thetacal.model;

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
