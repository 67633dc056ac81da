package io.thetacal.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.Models;
import io.thetacal.model.Sentences;
import io.thetacal.model.TransformerModel;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The per-row attention math: equivalences that must hold bit for bit, and small rows whose expected
 * weights are computed here by hand from the formulas in TOP_THETA.md.
 */
class AttentionKernelTest {
  private static final double TOL = 1e-6;
  /** a = [2, 1, 0.5, -1]: max m = 2. */
  private static final float[] ROW = {2f, 1f, 0.5f, -1f};

  private static TransformerModel model;
  private static List<int[]> seqs;
  private static ForwardResult dense;

  @BeforeAll
  static void loadModel() {
    model = Models.load(Models.DEFAULT_ID);
    seqs = Sentences.REAL.stream().map(model.tokenizer()::encode).toList();
    dense = model.forward(ForwardRequest.of(seqs).withHidden(true));
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  /** A table with one θ and one offline mass for every (layer, head, n, k). */
  record Table(float theta, double mass, Placement placement) implements ThresholdLookup {
    @Override
    public float threshold(int layer, int head, int n, int k) {
      return theta;
    }

    @Override
    public double sdcMass(int layer, int head, int n, int k) {
      return mass;
    }
  }

  private static void assertSameOutputs(ForwardResult expected, ForwardResult actual) {
    for (int s = 0; s < expected.sequences().size(); s++) {
      assertArrayEquals(expected.sequences().get(s).hidden(), actual.sequences().get(s).hidden(),
          "hidden states of sequence " + s);
      assertArrayEquals(expected.sequences().get(s).pooled(), actual.sequences().get(s).pooled(),
          "pooled output of sequence " + s);
    }
  }

  private ForwardResult run(AttentionMode mode) {
    return model.forward(ForwardRequest.of(seqs).withHidden(true).withMode(mode));
  }

  @Test
  void repeatedForwardPassesGiveIdenticalBits() {
    for (int i = 0; i < 3; i++) {
      assertSameOutputs(dense, run(AttentionMode.dense()));
    }
  }

  @Test
  void nonFiniteScoreNamesLayerHeadRowAndKey() {
    float[] a = {1f, Float.NaN, 2f};
    NonFiniteScoreException e = org.junit.jupiter.api.Assertions.assertThrows(
        NonFiniteScoreException.class,
        () -> new AttentionKernel(AttentionMode.dense(), null, null).apply(3, 5, 0, 7, a, 0, 3, null, 0));
    assertTrue(e.getMessage().contains("layer 3, head 5, row 7, key 1"), e.getMessage());
  }

  @Test
  void topKWithKAtLeastRowLengthEqualsDenseBitwiseOnRealModel() {
    int longest = seqs.stream().mapToInt(s -> s.length).max().orElseThrow();
    ForwardResult topK = run(AttentionMode.topK(longest));
    assertSameOutputs(dense, topK);
    assertTrue(Double.isNaN(topK.stats().keptFractionOfThresholded()), "no row thresholded");
    assertEquals(1.0, topK.stats().keptFraction());
  }

  @Test
  void topThetaWithMinusInfinityEqualsDenseBitwiseOnRealModel() {
    for (Placement placement : Placement.values()) {
      ThresholdLookup table = new Table(Float.NEGATIVE_INFINITY, 0, placement);
      assertSameOutputs(dense, run(AttentionMode.topTheta(table, 1)));
    }
  }

  @Test
  void exactSdcWithVmcAndNothingPrunedEqualsDenseBitwiseOnRealModel() {
    ThresholdLookup table = new Table(-1e30f, 0, Placement.PRE_SOFTMAX);
    ForwardResult r = run(AttentionMode.topTheta(table, 1).withSdc(SdcMode.EXACT).withVmc(true));
    assertSameOutputs(dense, r);
    assertEquals(1.0, r.stats().keptFractionOfThresholded());
    assertEquals(1.0, r.stats().vRowFraction());
  }

  @Test
  void pruningChangesTheOutputAndCountsKeptElements() {
    ForwardResult r = run(AttentionMode.topK(4));
    assertTrue(r.stats().keptFractionOfThresholded() < 0.5);
    for (int l = 0; l < r.stats().numLayers(); l++) {
      assertEquals(4.0, r.stats().meanKeptPerThresholdedRow(l));
      // Encoders have one query head per KV head: V rows needed are the kept keys.
      assertEquals(r.stats().keptElements(l), r.stats().vRowsNeeded(l));
      assertEquals(r.stats().elements(l), r.stats().vRowsVisible(l));
    }
    assertTrue(!Arrays.equals(dense.sequences().get(0).pooled(), r.sequences().get(0).pooled()));
  }

  private static float[] kernelRow(AttentionMode mode, float[] row, double[] residual) {
    float[] a = row.clone();
    double r = new AttentionKernel(mode, null, null).apply(0, 0, 0, 0, a, 0, a.length, null, 0);
    if (residual != null) {
      residual[0] = r;
    }
    return a;
  }

  @Test
  void topKWithKAtLeastRowLengthEqualsDenseBitwiseOnSingleRows() {
    SplittableRandom rnd = new SplittableRandom(7);
    for (int trial = 0; trial < 200; trial++) {
      int n = 1 + rnd.nextInt(300);
      float[] row = new float[n];
      for (int j = 0; j < n; j++) {
        row[j] = (float) (rnd.nextGaussian() * 4);
      }
      float[] d = kernelRow(AttentionMode.dense(), row, null);
      assertArrayEquals(d, kernelRow(AttentionMode.topK(n), row, null), "k = n, n = " + n);
      assertArrayEquals(d, kernelRow(AttentionMode.topK(n + 3), row, null), "k > n, n = " + n);
    }
  }

  /**
   * A row about to get exact top-k shows the observer the kernel's selection: the k largest scores after
   * the others, the (k+1)-th largest just before them; rows of other modes, and rows no longer than k,
   * show none.
   */
  @Test
  void topKRowsShowTheObserverTheKernelsSelection() {
    SplittableRandom rnd = new SplittableRandom(11);
    for (int trial = 0; trial < 300; trial++) {
      int n = 1 + rnd.nextInt(200);
      int k = 1 + rnd.nextInt(n + 2);
      float[] row = new float[n];
      for (int j = 0; j < n; j++) {
        // every third row on a coarse grid, for ties across the kept boundary
        row[j] = trial % 3 == 0 ? rnd.nextInt(4) : (float) (rnd.nextGaussian() * 4);
      }
      float[] sorted = row.clone();
      Arrays.sort(sorted);
      int[] seen = new int[1];
      AttentionObserver check = r -> {
        seen[0]++;
        if (k >= n) {
          assertEquals(0, r.selectedK(), "n = " + n + ", k = " + k);
          return;
        }
        assertEquals(k, r.selectedK());
        assertEquals(sorted[n - k - 1], r.selected()[n - k - 1], "(k+1)-th largest, n = " + n + ", k = " + k);
        float[] lower = Arrays.copyOfRange(r.selected(), 0, n - k);
        float[] kept = Arrays.copyOfRange(r.selected(), n - k, n);
        Arrays.sort(lower);
        Arrays.sort(kept);
        assertArrayEquals(Arrays.copyOfRange(sorted, n - k, n), kept, "kept, n = " + n + ", k = " + k);
        assertArrayEquals(Arrays.copyOfRange(sorted, 0, n - k), lower, "rest, n = " + n + ", k = " + k);
      };
      new AttentionKernel(AttentionMode.topK(k), check, null).apply(0, 0, 0, 0, row.clone(), 0, n, null, 0);
      new AttentionKernel(AttentionMode.dense(), r -> assertEquals(0, r.selectedK()), null)
          .apply(0, 0, 0, 0, row.clone(), 0, n, null, 0);
      assertEquals(1, seen[0]);
    }
  }

  @Test
  void denseRowIsTheSoftmax() {
    double den = 1 + Math.exp(-1) + Math.exp(-1.5) + Math.exp(-3);
    float[] w = kernelRow(AttentionMode.dense(), ROW, null);
    double[] e = {1, Math.exp(-1), Math.exp(-1.5), Math.exp(-3)};
    for (int j = 0; j < 4; j++) {
      assertEquals(e[j] / den, w[j], TOL);
    }
  }

  @Test
  void topKKeepsTheKLargestAndRenormalises() {
    double[] res = new double[1];
    float[] w = kernelRow(AttentionMode.topK(2), ROW, res);
    double den = 1 + Math.exp(-1);
    assertEquals(1 / den, w[0], TOL);
    assertEquals(Math.exp(-1) / den, w[1], TOL);
    assertEquals(0f, w[2]);
    assertEquals(0f, w[3]);
    assertEquals(0.0, res[0]);
  }

  /**
   * The top-k of post-softmax pruning keeps the dense probabilities of the k largest and zeroes the rest,
   * bit for bit the weights post-softmax Top-θ gives when its threshold keeps the same set.
   */
  @Test
  void postSoftmaxTopKKeepsTheDenseProbabilitiesWithoutRenormalising() {
    double[] res = new double[1];
    float[] w = kernelRow(AttentionMode.topK(2, Placement.POST_SOFTMAX), ROW, res);
    float[] d = kernelRow(AttentionMode.dense(), ROW, null);
    assertEquals(d[0], w[0]);
    assertEquals(d[1], w[1]);
    assertEquals(0f, w[2]);
    assertEquals(0f, w[3]);
    assertEquals(0.0, res[0]);
    float theta = (d[1] + d[2]) / 2;
    assertArrayEquals(kernelRow(AttentionMode.topTheta(new Table(theta, 0.3, Placement.POST_SOFTMAX), 2), ROW,
        null), w);
    assertArrayEquals(kernelRow(AttentionMode.topK(2), ROW, null),
        kernelRow(AttentionMode.topK(2, Placement.PRE_SOFTMAX), ROW, null));
  }

  @Test
  void topKBreaksTiesByLowestIndex() {
    float[] w = kernelRow(AttentionMode.topK(2), new float[] {1f, 3f, 1f, 1f}, null);
    double den = 1 + Math.exp(-2);
    assertEquals(Math.exp(-2) / den, w[0], TOL);
    assertEquals(1 / den, w[1], TOL);
    assertEquals(0f, w[2]);
    assertEquals(0f, w[3]);
  }

  /** θ = 0.75 keeps S = {0, 1} of ROW (n = 4 > k = 2); m = 2, D_kept = 1 + e^-1. */
  private static AttentionMode.TopTheta pre(SdcMode sdc, double scale, boolean vmc) {
    return AttentionMode.topTheta(new Table(0.75f, 0.3, Placement.PRE_SOFTMAX), 2).withSdc(sdc)
        .withSdcScale(scale).withVmc(vmc);
  }

  private static void assertKept(float[] w, double den, double[] res, double expectedR) {
    assertEquals(1 / den, w[0], TOL);
    assertEquals(Math.exp(-1) / den, w[1], TOL);
    assertEquals(0f, w[2]);
    assertEquals(0f, w[3]);
    assertEquals(expectedR, res[0], TOL);
  }

  @Test
  void preSoftmaxWithoutCompensationRenormalisesOverKept() {
    double[] res = new double[1];
    float[] w = kernelRow(pre(SdcMode.NONE, 1, false), ROW, res);
    assertKept(w, 1 + Math.exp(-1), res, 0);
  }

  @Test
  void exactSdcAddsThePrunedMass() {
    double[] res = new double[1];
    float[] w = kernelRow(pre(SdcMode.EXACT, 1, false), ROW, res);
    assertKept(w, 1 + Math.exp(-1) + Math.exp(-1.5) + Math.exp(-3), res, 0);
  }

  @Test
  void expThresholdSdcBoundsThePrunedMassByTheThreshold() {
    double[] res = new double[1];
    float[] w = kernelRow(pre(SdcMode.EXP_THRESHOLD, 1, false), ROW, res);
    assertKept(w, 1 + Math.exp(-1) + 2 * Math.exp(0.75 - 2), res, 0);
  }

  @Test
  void offlineSdcUsesTheCalibratedMassTimesScale() {
    double[] res = new double[1];
    float[] w = kernelRow(pre(SdcMode.OFFLINE, 0.5, false), ROW, res);
    assertKept(w, 1 + Math.exp(-1) + 0.5 * 0.3, res, 0);
  }

  @Test
  void vmcReturnsTheMissingProbabilityMass() {
    double[] res = new double[1];
    double den = 1 + Math.exp(-1) + Math.exp(-1.5) + Math.exp(-3);
    float[] w = kernelRow(pre(SdcMode.EXACT, 1, true), ROW, res);
    assertKept(w, den, res, 1 - (1 + Math.exp(-1)) / den);
    // Without SDC the kept weights already sum to 1: VMC adds nothing.
    float[] w2 = kernelRow(pre(SdcMode.NONE, 1, true), ROW, res);
    assertKept(w2, 1 + Math.exp(-1), res, 0);
  }

  @Test
  void postSoftmaxKeepsProbabilitiesAboveThetaUnrenormalised() {
    double den = 1 + Math.exp(-1) + Math.exp(-1.5) + Math.exp(-3);
    double[] p = {1 / den, Math.exp(-1) / den, Math.exp(-1.5) / den, Math.exp(-3) / den};
    // p ≈ [0.583, 0.215, 0.130, 0.029]: θ = 0.1 keeps three of four.
    ThresholdLookup table = new Table(0.1f, 0, Placement.POST_SOFTMAX);
    double[] res = new double[1];
    float[] w = kernelRow(AttentionMode.topTheta(table, 2), ROW, res);
    float[] wv = kernelRow(AttentionMode.topTheta(table, 2).withVmc(true), ROW, res);
    for (int j = 0; j < 3; j++) {
      assertEquals(p[j], w[j], TOL);
      assertEquals(p[j], wv[j], TOL);
    }
    assertEquals(0f, w[3]);
    assertEquals(p[3], res[0], TOL, "VMC coefficient is the pruned probability mass");
  }

  @Test
  void rowsNotLongerThanKAreNeverThresholded() {
    ThresholdLookup table = new Table(100f, 0, Placement.PRE_SOFTMAX);
    AttentionStats stats = new AttentionStats(1);
    float[] a = ROW.clone();
    new AttentionKernel(AttentionMode.topTheta(table, 4), null, stats).apply(0, 0, 0, 0, a, 0, 4, null, 0);
    assertArrayEquals(kernelRow(AttentionMode.dense(), ROW, null), a);
    assertEquals(0, stats.thresholdedRows(0));
    assertEquals(4, stats.keptElements(0));
  }

  @Test
  void observerSeesScoresBeforePruningAndKeptMaskMarksKeptKeys() {
    float[] seen = new float[4];
    double[] den = new double[1];
    AttentionObserver obs = row -> {
      for (int j = 0; j < row.n(); j++) {
        seen[j] = row.score(j);
      }
      den[0] = row.denominator();
    };
    long[] mask = new long[1];
    float[] a = {9f, 9f, ROW[0], ROW[1], ROW[2], ROW[3]};
    AttentionStats stats = new AttentionStats(1);
    new AttentionKernel(pre(SdcMode.NONE, 1, false), obs, stats).apply(0, 0, 0, 0, a, 2, 4, mask, 3);
    assertArrayEquals(ROW, seen);
    assertEquals(1 + Math.exp(-1) + Math.exp(-1.5) + Math.exp(-3), den[0], TOL);
    assertEquals(0b11L << 3, mask[0]);
    assertEquals(9f, a[0], "scores outside the row untouched");
    assertEquals(2, stats.thresholdedKept(0));
    assertEquals(4, stats.thresholdedElements(0));
  }

  @Test
  void topThetaRowsEqualTheRuleWrittenAsPlainLoopsBitForBit() {
    SplittableRandom rnd = new SplittableRandom(11);
    int cases = 0;
    for (int trial = 0; trial < 120; trial++) {
      int n = 3 + rnd.nextInt(trial % 3 == 0 ? 300 : 40);
      float[] row = new float[n];
      for (int j = 0; j < n; j++) {
        double g = rnd.nextGaussian() * 2;
        // every other row on a grid of quarters: many ties, some of them at θ
        row[j] = trial % 2 == 0 ? (float) (Math.round(g * 4) / 4.0) : (float) g;
      }
      float[] probs = kernelRow(AttentionMode.dense(), row, null);
      float[] preThetas = {row[rnd.nextInt(n)], (float) rnd.nextGaussian(), -100f, 100f};
      float[] postThetas = {probs[rnd.nextInt(n)], (float) (1.0 / n), 0f, 2f};
      for (int t = 0; t < preThetas.length; t++) {
        for (SdcMode sdc : SdcMode.values()) {
          for (boolean vmc : new boolean[] {false, true}) {
            AttentionMode.TopTheta pre = (AttentionMode.TopTheta) AttentionMode.topTheta(
                new Table(preThetas[t], 0.25, Placement.PRE_SOFTMAX), 1).withSdc(sdc)
                .withSdcScale(t % 2 == 0 ? 1 : 0.5).withVmc(vmc);
            assertSameAsPlainLoops(pre, row);
            cases++;
          }
        }
        for (boolean vmc : new boolean[] {false, true}) {
          AttentionMode.TopTheta post = (AttentionMode.TopTheta) AttentionMode.topTheta(
              new Table(postThetas[t], 0, Placement.POST_SOFTMAX), 1).withVmc(vmc);
          assertSameAsPlainLoops(post, row);
          cases++;
        }
      }
    }
    assertEquals(120 * 4 * (SdcMode.values().length * 2 + 2), cases);
  }

  /** The kernel's weights, V-mean coefficient, kept mask and kept count against {@link #plainLoops}. */
  private static void assertSameAsPlainLoops(AttentionMode.TopTheta mode, float[] row) {
    int n = row.length;
    float[] expected = row.clone();
    long[] expectedMask = new long[(n + 63) / 64 + 1];
    double[] expectedR = new double[1];
    int expectedKept = plainLoops(mode, expected, expectedMask, 5, expectedR);
    float[] actual = row.clone();
    long[] mask = new long[expectedMask.length];
    AttentionStats stats = new AttentionStats(1);
    double r = new AttentionKernel(mode, null, stats).apply(0, 0, 0, 0, actual, 0, n, mask, 5);
    String what = mode + ", n = " + n;
    for (int j = 0; j < n; j++) {
      assertEquals(Float.floatToRawIntBits(expected[j]), Float.floatToRawIntBits(actual[j]),
          what + ", weight " + j);
    }
    assertEquals(Double.doubleToRawLongBits(expectedR[0]), Double.doubleToRawLongBits(r), what + ", residual");
    assertArrayEquals(expectedMask, mask, what + ", kept mask");
    assertEquals(expectedKept, stats.keptElements(0), what + ", kept");
  }

  /**
   * The Top-θ rule of TOP_THETA.md as plain loops over the row, on the kernel's own exponentials: the
   * weights into a, the kept keys into mask from bit maskBit and the V-mean coefficient into
   * residual[0]; returns the kept count.
   */
  private static int plainLoops(AttentionMode.TopTheta tt, float[] a, long[] mask, int maskBit,
      double[] residual) {
    int n = a.length;
    float m = RowMath.maxIfFinite(a, 0, n);
    float[] exps = new float[n];
    double denom = RowMath.expShifted(a, 0, n, m, exps, new byte[RowMath.SCRATCH_BYTES]);
    float inv = (float) (1.0 / denom);
    float theta = tt.table().threshold(0, 0, n, tt.k());
    boolean pre = tt.placement() == Placement.PRE_SOFTMAX;
    int kept = 0;
    double keptMass = 0;
    for (int j = 0; j < n; j++) {
      if (pre ? a[j] > theta : exps[j] * inv > theta) {
        kept++;
        keptMass += exps[j];
      }
    }
    residual[0] = 0;
    if (kept == n) {
      for (int j = 0; j < n; j++) {
        a[j] = exps[j] * inv;
        mask[(maskBit + j) >>> 6] |= 1L << (maskBit + j);
      }
      return n;
    }
    double missing = 0;
    if (pre && tt.sdc() == SdcMode.EXACT) {
      for (int j = 0; j < n; j++) {
        if (!(a[j] > theta)) {
          missing += exps[j];
        }
      }
    } else if (pre && tt.sdc() == SdcMode.EXP_THRESHOLD) {
      missing = (n - kept) * Math.exp((double) theta - m);
    } else if (pre && tt.sdc() == SdcMode.OFFLINE) {
      missing = tt.table().sdcMass(0, 0, n, tt.k());
    }
    double d = keptMass + tt.sdcScale() * missing;
    double sum = 0;
    for (int j = 0; j < n; j++) {
      float p = exps[j] * inv;
      boolean keep = pre ? a[j] > theta : p > theta;
      float w = pre ? (float) (exps[j] / d) : p;
      a[j] = keep ? w : 0f;
      if (keep) {
        sum += w;
        mask[(maskBit + j) >>> 6] |= 1L << (maskBit + j);
      }
    }
    residual[0] = tt.vmc() ? 1.0 - sum : 0;
    return kept;
  }
}
