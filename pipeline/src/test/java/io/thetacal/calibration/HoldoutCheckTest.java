package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionKernel;
import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionStats;
import io.thetacal.attention.Placement;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class HoldoutCheckTest {

  @Test
  void ratiosAreMeanKeptPerThresholdedRowOverK() {
    AttentionStats s = new AttentionStats(2);
    s.recordRow(0, 0, 100, 16, true);
    s.recordRow(0, 0, 100, 20, true);
    s.recordRow(0, 0, 10, 10, false);
    s.recordRow(1, 0, 100, 30, true);
    HoldoutCheck.Result r = HoldoutCheck.evaluate(Map.of(16, s));
    assertEquals(2, r.entries().size());
    HoldoutCheck.Entry e0 = r.entries().get(0);
    assertEquals(2, e0.thresholdedRows());
    assertEquals(18.0, e0.meanKept());
    assertEquals(18.0 / 16, e0.ratio());
    assertFalse(e0.within(), "1.125 is outside 1 ± 0.10");
    assertTrue(HoldoutCheck.evaluate(Map.of(16, s), 0.2).entries().get(0).within());
    assertFalse(r.allWithin());
    assertEquals(30.0 / 16 - 1, r.worstDeviation(), 1e-12);
  }

  @Test
  void layersWithoutThresholdedRowsAreReportedUnmeasured() {
    AttentionStats s = new AttentionStats(2);
    s.recordRow(0, 0, 100, 64, true);
    HoldoutCheck.Result r = HoldoutCheck.evaluate(Map.of(64, s));
    assertEquals(1, r.unmeasured());
    assertTrue(r.allWithin());
    assertThrows(IllegalArgumentException.class, () -> HoldoutCheck.evaluate(Map.of(64, s), 1.5));
    assertThrows(IllegalArgumentException.class, () -> HoldoutCheck.evaluate(Map.of()));
  }

  @Test
  void calibratedThresholdsPassTheInDomainCheckOnSyntheticHoldoutRows() {
    CalibrationGeometry g = new CalibrationGeometry(2, 2, 2048);
    CalibrationConfig c = CalibrationConfig.defaults().withSigmaAdd(0);
    ThresholdTable t = ThresholdTable.from(
        SyntheticRows.state(g, c, SyntheticRows.generate(31, g, 800, 2048, false)),
        Placement.PRE_SOFTMAX, c.estimatorInstance());
    List<SyntheticRows.Row> hold = SyntheticRows.generate(32, g, 300, 2048, false);
    Map<Integer, AttentionStats> byK = new TreeMap<>();
    for (int k : c.kGrid()) {
      AttentionStats stats = new AttentionStats(g.numLayers());
      AttentionKernel kernel = new AttentionKernel(AttentionMode.topTheta(t, k), null, stats);
      for (SyntheticRows.Row r : hold) {
        float[] a = r.scores().clone();
        kernel.apply(r.layer(), r.head(), 0, r.index(), a, 0, a.length, null, 0);
      }
      byK.put(k, stats);
    }
    HoldoutCheck.Result r = HoldoutCheck.evaluate(byK);
    for (HoldoutCheck.Entry e : r.entries()) {
      System.out.printf("holdout layer %d k %d: rows %d, kept/k %.3f%n", e.layer(), e.k(),
          e.thresholdedRows(), e.ratio());
    }
    assertEquals(0, r.unmeasured());
    assertTrue(r.allWithin(), "worst |kept/k - 1| = " + r.worstDeviation());
  }
}
