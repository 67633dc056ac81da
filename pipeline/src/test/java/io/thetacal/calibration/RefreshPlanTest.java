package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import java.util.List;
import org.junit.jupiter.api.Test;

class RefreshPlanTest {
  private static CorpusPartition part(String dataset, String id, char fill) {
    return new CorpusPartition(dataset, id, String.valueOf(fill).repeat(64));
  }

  @Test
  void onlyPartitionsAbsentFromTheWatermarkAreNewWhateverTheirOrder() {
    Watermark w = Watermark.empty().plus(List.of(part("wiki", "part-2", 'a'), part("code", "x", 'b')));
    RefreshPlan plan = RefreshPlan.of(w, List.of(part("wiki", "part-3", 'c'), part("wiki", "part-2", 'a'),
        part("wiki", "part-1", 'd'), part("code", "x", 'b')));
    assertEquals(List.of(part("wiki", "part-1", 'd'), part("wiki", "part-3", 'c')),
        plan.newPartitions());
    assertEquals(4, plan.next().partitionCount());
    assertEquals("d".repeat(64), plan.next().fingerprint("wiki", "part-1"));
    assertTrue(RefreshPlan.of(plan.next(), List.of(part("wiki", "part-1", 'd'))).nothingNew());
  }

  @Test
  void expiredPartitionsAreReportedAndStayInTheWatermark() {
    Watermark w = Watermark.empty().plus(List.of(part("wiki", "old", 'a')));
    RefreshPlan plan = RefreshPlan.of(w, List.of(part("wiki", "new", 'b')));
    assertEquals(List.of(part("wiki", "old", 'a')), plan.removedPartitions());
    assertEquals("a".repeat(64), plan.next().fingerprint("wiki", "old"));
  }

  @Test
  void aRewrittenPartitionOrADuplicateIsRefusedNamingIt() {
    Watermark w = Watermark.empty().plus(List.of(part("wiki", "part-1", 'a')));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RefreshPlan.of(w, List.of(part("wiki", "part-1", 'b'))));
    assertTrue(e.getMessage().contains("partition 'part-1' of dataset 'wiki'"), e.getMessage());
    assertTrue(e.getMessage().contains("full calibration"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> RefreshPlan.of(Watermark.empty(),
        List.of(part("wiki", "p", 'a'), part("wiki", "p", 'a'))));
    assertTrue(e.getMessage().contains("listed twice"), e.getMessage());
  }

  @Test
  void aConfigThatChangesTheStatesMeaningIsRefusedNamingTheKey() {
    CalibrationConfig c = CalibrationConfig.defaults();
    RefreshPlan.requireCompatible(c, CalibrationConfig.fromOptions(java.util.Map.of()));
    List<Object[]> cases = List.of(
        new Object[] {c.withAdditionalK(8), "'kGrid'"},
        new Object[] {c.withPlacements(Placement.POST_SOFTMAX), "'placements'"},
        new Object[] {c.withRowLengths(32, 8), "'exactLengthLimit'"},
        new Object[] {c.withRowLengths(64, 4), "'bucketsPerOctave'"},
        new Object[] {c.withHistogram(-8, 48, 128), "'histogramMin'"},
        new Object[] {c.withHistogram(-16, 48, 64), "'histogramBins'"},
        new Object[] {c.withEstimator(EstimatorKind.HISTOGRAM_QUANTILE), "'estimator'"},
        new Object[] {c.withSigmaAdd(0.2), "'sigmaAdd'"});
    for (Object[] k : cases) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> RefreshPlan.requireCompatible(c, (CalibrationConfig) k[0]));
      assertTrue(e.getMessage().startsWith((String) k[1]), e.getMessage());
    }
  }
}
