package io.thetacal.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionKernel;
import io.thetacal.attention.AttentionMode;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ScoreHistogramObserverTest {

  @Test
  void binsClampOutsideValuesIntoTheEndBins() {
    double[] edges = {0, 1, 2, 4};
    assertEquals(0, HeadHistogram.binOf(edges, -5));
    assertEquals(0, HeadHistogram.binOf(edges, 0));
    assertEquals(0, HeadHistogram.binOf(edges, 0.99));
    assertEquals(1, HeadHistogram.binOf(edges, 1));
    assertEquals(2, HeadHistogram.binOf(edges, 3.5));
    assertEquals(2, HeadHistogram.binOf(edges, 4));
    assertEquals(2, HeadHistogram.binOf(edges, 99));
  }

  @Test
  void collectsHandCountedScoresOfReferencedHeadsOnly() {
    double[] edges = {-1, 0, 1, 2};
    ScoreHistogramObserver obs = new ScoreHistogramObserver(List.of(HeadHistogram.empty(0, 1, edges)));
    AttentionKernel kernel = new AttentionKernel(AttentionMode.dense(), obs, null);
    kernel.apply(0, 1, 0, 3, new float[] {-0.5f, 0.5f, 0.7f, 1.5f}, 0, 4, null, 0);
    kernel.apply(0, 0, 0, 1, new float[] {0.5f, 0.5f}, 0, 2, null, 0); // head 0: not referenced
    kernel.apply(1, 1, 0, 0, new float[] {0.5f}, 0, 1, null, 0); // layer 1: not referenced
    assertArrayEquals(new long[] {1, 2, 1}, obs.collected().get(0).counts());
  }

  @Test
  void aForkJoinedBackCountsAsIfOneObserverHadSeenEveryRow() {
    double[] edges = {-2, -1, 0, 1, 2};
    List<HeadHistogram> ref = List.of(HeadHistogram.empty(0, 0, edges), HeadHistogram.empty(1, 2, edges));
    ScoreHistogramObserver one = new ScoreHistogramObserver(ref);
    ScoreHistogramObserver split = new ScoreHistogramObserver(ref);
    ScoreHistogramObserver fork = (ScoreHistogramObserver) split.fork();
    AttentionKernel all = new AttentionKernel(AttentionMode.dense(), one, null);
    AttentionKernel mine = new AttentionKernel(AttentionMode.dense(), split, null);
    AttentionKernel theirs = new AttentionKernel(AttentionMode.dense(), fork, null);
    SplittableRandom rnd = new SplittableRandom(5);
    for (int r = 0; r < 40; r++) {
      float[] row = new float[1 + rnd.nextInt(30)];
      for (int j = 0; j < row.length; j++) {
        row[j] = (float) (rnd.nextGaussian() * 1.5);
      }
      int layer = r % 2;
      int head = layer * 2;
      all.apply(layer, head, 0, r, row.clone(), 0, row.length, null, 0);
      (r % 3 == 0 ? theirs : mine).apply(layer, head, 0, r, row.clone(), 0, row.length, null, 0);
    }
    split.join(fork);
    assertEquals(one.collected(), split.collected());
    assertTrue(one.collected().get(1).total() > 0);
    assertThrows(IllegalArgumentException.class,
        () -> split.join(new ScoreHistogramObserver(List.of(HeadHistogram.empty(0, 0, edges)))));
  }

  @Test
  void driftIsZeroForTheSameDistributionAndGrowsWithAShift() {
    double[] edges = new double[41];
    for (int i = 0; i < edges.length; i++) {
      edges[i] = -10 + 0.5 * i;
    }
    ScoreHistogramObserver reference = new ScoreHistogramObserver(List.of(HeadHistogram.empty(0, 0, edges)));
    feed(reference, 0f, 11);
    HeadHistogram ref = reference.collected().get(0);

    ScoreHistogramObserver same = new ScoreHistogramObserver(List.of(ref));
    feed(same, 0f, 11);
    ScoreHistogramObserver shifted = new ScoreHistogramObserver(List.of(ref));
    feed(shifted, 2f, 12);
    double d0 = same.drift("cal", "eval").get(0).wasserstein1();
    double d2 = shifted.drift("cal", "eval").get(0).wasserstein1();
    assertEquals(0.0, d0, 1e-12);
    // a shift of every score by 2 moves W1 by about 2 (bins of 0.5 blur it by at most a bin)
    assertEquals(2.0, d2, 0.5);
    assertTrue(d2 > 1.5);
  }

  @Test
  void openEndedSlotsBecomeBinsOneWidthOutsideTheRange() {
    HeadHistogram h = HeadHistogram.withOpenEnds(1, 2, -4, 4, new long[] {5, 1, 2, 3, 4, 6});
    assertArrayEquals(new double[] {-6, -4, -2, 0, 2, 4, 6}, h.edges());
    assertArrayEquals(new long[] {5, 1, 2, 3, 4, 6}, h.counts());
    assertEquals(21, h.total());
    assertThrows(IllegalArgumentException.class,
        () -> HeadHistogram.withOpenEnds(0, 0, 1, 1, new long[] {0, 1, 0}));
  }

  @Test
  void rejectsDuplicateReferenceHeads() {
    double[] edges = {0, 1};
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ScoreHistogramObserver(List.of(HeadHistogram.empty(2, 3, edges),
            HeadHistogram.empty(2, 3, edges))));
    assertEquals("two reference histograms for head L2.H3", e.getMessage());
  }

  private static void feed(ScoreHistogramObserver obs, float shift, long seed) {
    AttentionKernel kernel = new AttentionKernel(AttentionMode.dense(), obs, null);
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int r = 0; r < 400; r++) {
      float[] a = new float[50];
      for (int j = 0; j < a.length; j++) {
        a[j] = (float) (rnd.nextGaussian() * 1.5) + shift;
      }
      kernel.apply(0, 0, 0, r, a, 0, a.length, null, 0);
    }
  }
}
