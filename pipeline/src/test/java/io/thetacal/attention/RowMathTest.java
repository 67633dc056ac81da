package io.thetacal.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The kernel's exponential: accurate, and the same bits on the vector and scalar paths. */
class RowMathTest {

  @Test
  void expIsWithinTwoUlpOfMathExpOverTheUsedRange() {
    double worst = 0;
    for (float x = -87f; x <= 0f; x += 0.0007f) {
      double ref = Math.exp(x);
      double err = Math.abs(RowMath.exp(x) - ref) / Math.ulp((float) ref);
      worst = Math.max(worst, err);
    }
    assertTrue(worst <= 2.0, "worst error " + worst + " ulp");
    assertEquals(1f, RowMath.exp(0f));
  }

  @Test
  void vectorAndScalarPathsGiveIdenticalExponentials() {
    assertTrue(RowMath.VECTOR, "tests run with the jdk.incubator.vector module");
    SplittableRandom rnd = new SplittableRandom(3);
    for (int trial = 0; trial < 500; trial++) {
      int n = 1 + rnd.nextInt(200);
      float[] a = new float[n + 5];
      for (int j = 0; j < a.length; j++) {
        a[j] = (float) (rnd.nextGaussian() * 30);
      }
      float m = RowMath.maxIfFinite(a, 5, n);
      float[] out = new float[n];
      VectorRowMath.expShifted(a, 5, n, m, out, new byte[RowMath.SCRATCH_BYTES]);
      for (int j = 0; j < n; j++) {
        assertEquals(Float.floatToIntBits(RowMath.exp(a[5 + j] - m)), Float.floatToIntBits(out[j]),
            "element " + j + " of a row of " + n);
      }
    }
  }

  @Test
  void nonFiniteScoresAreDetected() {
    float[] a = new float[40];
    a[33] = Float.NEGATIVE_INFINITY;
    assertTrue(Float.isNaN(RowMath.maxIfFinite(a, 0, 40)));
    a[33] = Float.NaN;
    assertTrue(Float.isNaN(RowMath.maxIfFinite(a, 0, 40)));
    a[33] = 3f;
    assertEquals(3f, RowMath.maxIfFinite(a, 0, 40));
  }
}
