package io.thetacal.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionKernel;
import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionStats;
import io.thetacal.attention.Placement;
import io.thetacal.attention.ThresholdLookup;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KeptCountObserverTest {

  /** A threshold table whose θ depends on layer, head and n, as a calibrated one does. */
  private record Table(Placement placement, float base) implements ThresholdLookup {
    @Override
    public float threshold(int layer, int head, int n, int k) {
      return placement == Placement.PRE_SOFTMAX
          ? base + 0.1f * layer - 0.05f * head + 0.01f * n
          : base / n * (1 + 0.2f * layer);
    }

    @Override
    public double sdcMass(int layer, int head, int n, int k) {
      return 0.5;
    }

    @Override
    public Placement placement() {
      return placement;
    }
  }

  /** Runs rows of random scores through the real kernel with the observer attached. */
  private static void run(AttentionMode mode, KeptHistogram hist, AttentionStats stats) {
    AttentionKernel kernel = new AttentionKernel(mode, new KeptCountObserver(mode, hist), stats);
    SplittableRandom rnd = new SplittableRandom(7);
    for (int layer = 0; layer < 3; layer++) {
      for (int head = 0; head < 4; head++) {
        for (int n = 1; n <= 40; n++) {
          float[] a = new float[n];
          for (int j = 0; j < n; j++) {
            a[j] = (float) (rnd.nextGaussian() * 2);
          }
          kernel.apply(layer, head, 0, n - 1, a, 0, n, null, 0);
        }
      }
    }
  }

  @Test
  void preSoftmaxCountsMatchTheKernelsOwnTotals() {
    AttentionMode mode = AttentionMode.topTheta(new Table(Placement.PRE_SOFTMAX, 0.8f), 8);
    KeptHistogram hist = new KeptHistogram(3);
    AttentionStats stats = new AttentionStats(3);
    run(mode, hist, stats);
    for (int l = 0; l < 3; l++) {
      assertEquals(stats.thresholdedRows(l), hist.rows(l));
      assertEquals(stats.meanKeptPerThresholdedRow(l), hist.mean(l), 1e-12);
    }
    assertEquals(3 * 4 * 32, hist.rows());
    assertTrue(hist.quantile(0.95) > hist.quantile(0.05), "kept counts must vary between rows");
  }

  @Test
  void postSoftmaxCountsMatchTheKernelsOwnTotals() {
    AttentionMode mode = AttentionMode.topTheta(new Table(Placement.POST_SOFTMAX, 1.2f), 5);
    KeptHistogram hist = new KeptHistogram(3);
    AttentionStats stats = new AttentionStats(3);
    run(mode, hist, stats);
    for (int l = 0; l < 3; l++) {
      assertEquals(stats.thresholdedRows(l), hist.rows(l));
      assertEquals(stats.meanKeptPerThresholdedRow(l), hist.mean(l), 1e-12);
    }
  }

  @Test
  void topKRecordsExactlyKForRowsLongerThanK() {
    KeptHistogram hist = new KeptHistogram(3);
    run(AttentionMode.topK(10), hist, null);
    assertEquals(3 * 4 * 30, hist.rows());
    assertEquals(1.0, hist.keptOverK(10).p5());
    assertEquals(1.0, hist.keptOverK(10).p95());
  }

  @Test
  void handCountedRow() {
    AttentionMode mode = AttentionMode.topTheta(new Table(Placement.PRE_SOFTMAX, 1.5f - 0.04f), 1);
    KeptHistogram hist = new KeptHistogram(1);
    AttentionKernel kernel = new AttentionKernel(mode, new KeptCountObserver(mode, hist), null);
    // θ = 1.46 + 0.01·4 = 1.5 at layer 0, head 0, n = 4: scores 3 and 2 are above it
    kernel.apply(0, 0, 0, 3, new float[] {3f, 1f, 2f, 0f}, 0, 4, null, 0);
    assertEquals(1, hist.count(0, 2));
  }

  @Test
  void denseModeRecordsNothing() {
    KeptHistogram hist = new KeptHistogram(3);
    KeptCountObserver obs = new KeptCountObserver(AttentionMode.dense(), hist);
    assertTrue(!obs.enabled());
    run(AttentionMode.dense(), hist, null);
    assertEquals(0, hist.rows());
  }

  @Test
  void theKernelsOwnKeptHistogramEqualsTheObserversForEveryMode() {
    for (AttentionMode mode : new AttentionMode[] {
        AttentionMode.topTheta(new Table(Placement.PRE_SOFTMAX, 0.8f), 8),
        AttentionMode.topTheta(new Table(Placement.POST_SOFTMAX, 0.9f), 8).withVmc(true),
        AttentionMode.topK(5)}) {
      KeptHistogram observed = new KeptHistogram(3);
      AttentionStats stats = new AttentionStats(3);
      run(mode, observed, stats);
      KeptHistogram fromStats = new KeptHistogram(3);
      fromStats.add(stats);
      for (int l = 0; l < 3; l++) {
        assertEquals(observed.rows(l), fromStats.rows(l), mode + ", layer " + l);
        for (int v = 0; v <= 40; v++) {
          assertEquals(observed.count(l, v), fromStats.count(l, v), mode + ", layer " + l + ", kept " + v);
        }
      }
    }
  }
}
