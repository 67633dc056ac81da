package io.thetacal.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class KeptHistogramTest {

  private static KeptHistogram sample() {
    KeptHistogram h = new KeptHistogram(2);
    h.record(0, 6);
    h.record(0, 2);
    h.record(0, 4);
    h.record(0, 4);
    h.record(1, 8);
    return h;
  }

  @Test
  void meanIsExactPerLayerAndOverall() {
    KeptHistogram h = sample();
    assertEquals(4.0, h.mean(0));
    assertEquals(8.0, h.mean(1));
    assertEquals(24.0 / 5, h.mean(), 1e-15);
    assertEquals(4, h.rows(0));
    assertEquals(5, h.rows());
    assertEquals(2, h.count(0, 4));
  }

  @Test
  void quantilesFollowTheNearestRankRule() {
    KeptHistogram h = sample();
    // layer 0 sorted: 2 4 4 6
    assertEquals(2.0, h.quantile(0, 0.0));
    assertEquals(2.0, h.quantile(0, 0.05)); // rank ceil(0.2) = 1
    assertEquals(4.0, h.quantile(0, 0.5)); // rank 2
    assertEquals(4.0, h.quantile(0, 0.75)); // rank 3
    assertEquals(6.0, h.quantile(0, 0.95)); // rank ceil(3.8) = 4
    // all layers sorted: 2 4 4 6 8
    assertEquals(8.0, h.quantile(0.95)); // rank ceil(4.75) = 5
    assertEquals(6.0, h.quantile(0.8)); // rank 4
  }

  @Test
  void keptOverKDividesEveryStatisticByK() {
    KeptStats s = sample().keptOverK(4);
    assertEquals(5, s.rows());
    assertEquals(1.2, s.mean(), 1e-15);
    assertEquals(0.5, s.p5());
    assertEquals(2.0, s.p95());
    assertEquals(List.of(1.0, 2.0), s.perLayerMean());
  }

  @Test
  void mergeEqualsRecordingEverythingInOne() {
    KeptHistogram a = new KeptHistogram(2);
    a.record(0, 6);
    a.record(0, 2);
    KeptHistogram b = new KeptHistogram(2);
    b.record(0, 4);
    b.record(0, 4);
    b.record(1, 8);
    b.record(1, 100);
    a.merge(b);
    KeptHistogram all = sample();
    all.record(1, 100);
    for (double q : new double[] {0, 0.05, 0.3, 0.5, 0.95, 1}) {
      assertEquals(all.quantile(q), a.quantile(q));
    }
    assertEquals(all.mean(), a.mean());
    assertEquals(all.rows(1), a.rows(1));
  }

  @Test
  void emptyHistogramGivesNaN() {
    KeptHistogram h = new KeptHistogram(3);
    assertTrue(Double.isNaN(h.mean()));
    assertTrue(Double.isNaN(h.quantile(1, 0.5)));
    assertTrue(Double.isNaN(h.keptOverK(8).perLayerMean().get(2)));
  }

  @Test
  void rejectsLayerOutOfRangeNamingTheBound() {
    KeptHistogram h = new KeptHistogram(2);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> h.record(2, 1));
    assertEquals("'layer' is set to 2 but must be in [0, 2)", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> h.quantile(1.5));
    assertThrows(IllegalArgumentException.class, () -> h.merge(new KeptHistogram(3)));
  }
}
