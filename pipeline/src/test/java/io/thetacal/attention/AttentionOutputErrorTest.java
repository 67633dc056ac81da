package io.thetacal.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The kernel's dense weights beside the sparse ones and the per-layer attention output error, on rows
 * small enough to check by hand; the engines' use of them is pinned in BertEncoderTest and
 * LlamaSparseModesTest.
 */
class AttentionOutputErrorTest {

  /** o = Σ_j w_j V_j for one row of weights and V rows of width 2. */
  private static float[] output(float[] w, float[][] v) {
    float[] o = new float[2];
    for (int j = 0; j < w.length; j++) {
      o[0] += w[j] * v[j][0];
      o[1] += w[j] * v[j][1];
    }
    return o;
  }

  @Test
  void topOneOfTwoKeysGivesTheHandComputedError() {
    // a = [ln 3, 0]: dense p = [3/4, 1/4]; top-1 keeps key 0 with weight 1. With V = [[1, 0], [0, 1]]:
    // o_dense = [3/4, 1/4], o_sparse = [1, 0], ‖diff‖ = √2/4, ‖o_dense‖ = √10/4, error = 1/√5.
    float[] a = {(float) Math.log(3), 0f};
    float[] shadow = new float[2];
    AttentionKernel kernel = new AttentionKernel(AttentionMode.topK(1), null, null);
    double r = kernel.apply(0, 0, 0, 1, a, 0, 2, null, 0, shadow, 0);
    assertEquals(0, r);
    assertArrayEquals(new float[] {1f, 0f}, a);
    assertArrayEquals(new float[] {0.75f, 0.25f}, shadow, 1e-7f);
    float[][] v = {{1, 0}, {0, 1}};
    AttentionOutputError err = new AttentionOutputError(2);
    err.record(1, output(a, v), output(shadow, v), 0, 1, 2, 2);
    assertEquals(1 / Math.sqrt(5), err.mean(1), 1e-7);
    assertEquals(1, err.rows(1));
    assertEquals(0, err.rows(0));
    assertTrue(Double.isNaN(err.mean(0)));
    assertEquals(1 / Math.sqrt(5), err.meanOverLayers(), 1e-7, "layers without rows are left out");
  }

  @Test
  void denseAndTopKWithKAtLeastNGiveExactlyZero() {
    float[] row = {2f, 1f, 0.5f, -1f};
    float[][] v = {{1, 2}, {-3, 0.5f}, {0.25f, 4}, {2, -1}};
    for (AttentionMode mode : new AttentionMode[] {AttentionMode.dense(), AttentionMode.topK(4),
        AttentionMode.topK(9)}) {
      float[] a = row.clone();
      float[] shadow = new float[4];
      new AttentionKernel(mode, null, null).apply(0, 0, 0, 3, a, 0, 4, null, 0, shadow, 0);
      AttentionOutputError err = new AttentionOutputError(1);
      err.record(0, output(a, v), output(shadow, v), 0, 1, 2, 2);
      assertEquals(0.0, err.mean(0), mode.toString());
    }
  }

  @Test
  void theDenseWeightsEqualThoseOfADenseKernelBitForBit() {
    float[] row = {2f, 1f, 0.5f, -1f, 3.25f, -0.125f};
    float[] expected = row.clone();
    new AttentionKernel(AttentionMode.dense(), null, null).apply(0, 0, 0, 5, expected, 0, 6, null, 0);
    float[] a = row.clone();
    float[] dense = new float[8];
    new AttentionKernel(AttentionMode.topK(2), null, null).apply(0, 0, 0, 5, a, 0, 6, null, 0, dense, 2);
    assertArrayEquals(expected, java.util.Arrays.copyOfRange(dense, 2, 8));
  }

  @Test
  void rowsAreAveragedPerLayerAndMergedAcrossInstances() {
    // two rows of width 2 at stride 3 (one padding value between rows): errors 1 and 0.5
    float[] dense = {1, 0, 99, 0, 2, 99};
    float[] sparse = {0, 0, -7, 0, 3, -7};
    AttentionOutputError a = new AttentionOutputError(1);
    a.record(0, sparse, dense, 0, 2, 3, 2);
    assertEquals(0.75, a.mean(0), 1e-12);
    AttentionOutputError b = new AttentionOutputError(1);
    b.record(0, new float[] {1, 1}, new float[] {1, 1}, 0, 1, 2, 2);
    a.merge(b);
    assertEquals(1.5 / 3, a.mean(0), 1e-12);
    assertArrayEquals(new double[] {0.5}, a.perLayerMean(), 1e-12);
  }

  @Test
  void aZeroDenseRowCountsOnlyWhenTheSparseRowIsZeroToo() {
    AttentionOutputError err = new AttentionOutputError(1);
    err.record(0, new float[] {0, 0, 1, 0}, new float[] {0, 0, 0, 0}, 0, 2, 2, 2);
    assertEquals(1, err.rows(0));
    assertEquals(0.0, err.mean(0));
  }

  @Test
  void badLayersAndMismatchedMergesAreRejected() {
    AttentionOutputError err = new AttentionOutputError(2);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> err.record(2, new float[2], new float[2], 0, 1, 2, 2));
    assertTrue(e.getMessage().contains("'layer' is set to 2 but must be in [0, 2)"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> err.merge(new AttentionOutputError(3)));
    assertThrows(IllegalArgumentException.class, () -> new AttentionOutputError(0));
  }
}
