package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionKernel;
import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionStats;
import io.thetacal.attention.Placement;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class HistogramEstimatorTest {

  @Test
  void scoreWithCountAboveInterpolatesWithinABinAndClampsAtTheEdges() {
    // edges -2..2, 4 bins of width 1: under, [-2,-1), [-1,0), [0,1), [1,2), over
    ScoreHistogram h = new ScoreHistogram(-2, 2, new long[] {1, 2, 4, 4, 2, 1});
    assertEquals(2.0, h.scoreWithCountAbove(1));
    assertEquals(1.5, h.scoreWithCountAbove(2), 1e-12);
    assertEquals(1.0, h.scoreWithCountAbove(3), 1e-12);
    assertEquals(0.0, h.scoreWithCountAbove(7), 1e-12);
    assertEquals(-2.0, h.scoreWithCountAbove(13), 1e-12);
    assertEquals(-2.0, h.scoreWithCountAbove(14), 1e-12);
    assertEquals(14, h.total());
  }

  @Test
  void wassersteinIsZeroForEqualAndOneBinWidthForAOneBinShift() {
    ScoreHistogram a = new ScoreHistogram(0, 8, new long[] {0, 0, 5, 0, 0, 0, 0, 0, 0, 0});
    ScoreHistogram b = new ScoreHistogram(0, 8, new long[] {0, 0, 0, 10, 0, 0, 0, 0, 0, 0});
    ScoreHistogram c = new ScoreHistogram(0, 8, new long[] {0, 0, 3, 0, 0, 0, 0, 3, 0, 0});
    assertEquals(0.0, ScoreHistogram.wasserstein1(a, a));
    assertEquals(1.0, ScoreHistogram.wasserstein1(a, b), 1e-12);
    assertEquals(1.0, ScoreHistogram.wasserstein1(b, a), 1e-12);
    // half the mass moves 5 bins
    assertEquals(2.5, ScoreHistogram.wasserstein1(a, c), 1e-12);
    // the underflow slot is a bin one width wide just below min
    ScoreHistogram under = new ScoreHistogram(0, 8, new long[] {7, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    ScoreHistogram first = new ScoreHistogram(0, 8, new long[] {0, 7, 0, 0, 0, 0, 0, 0, 0, 0});
    assertEquals(1.0, ScoreHistogram.wasserstein1(under, first), 1e-12);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ScoreHistogram.wasserstein1(a, new ScoreHistogram(0, 4, new long[10])));
    assertTrue(e.getMessage().contains("share edges"), e.getMessage());
  }

  @Test
  void histogramThetaIsTheQuantileOneMinusKOverNWithinABinWidth() {
    CalibrationGeometry g = new CalibrationGeometry(1, 1, 512);
    CalibrationConfig c = CalibrationConfig.defaults().withKGrid(List.of(16, 64))
        .withHistogram(-8, 8, 256).withEstimator(EstimatorKind.HISTOGRAM_QUANTILE);
    List<SyntheticRows.Row> rows = SyntheticRows.generate(9, g, 400, 512, false).stream()
        .map(r -> new SyntheticRows.Row(0, 0, r.index(), Arrays.copyOf(r.scores(), 200)))
        .toList();
    CalibrationState s = SyntheticRows.state(g, c, rows);
    ThresholdTable t = ThresholdTable.from(s, Placement.PRE_SOFTMAX, c.estimatorInstance());
    assertEquals(EstimatorKind.HISTOGRAM_QUANTILE, t.estimator());
    int b = s.rowLengthIndex().bucketOf(200);
    float[] pooled = new float[0];
    int bucketRows = 0;
    for (SyntheticRows.Row r : rows) {
      if (s.rowLengthIndex().bucketOf(r.scores().length) == b) {
        pooled = concat(pooled, r.scores());
        bucketRows++;
      }
    }
    Arrays.sort(pooled);
    for (int ki = 0; ki < 2; ki++) {
      int k = c.kGrid().get(ki);
      float exact = pooled[pooled.length - 1 - k * bucketRows];
      assertEquals(exact, t.cellTheta(0, 0, b, ki), 16.0 / 256, "k = " + k);
    }
  }

  @Test
  void keptCountThresholdsOfBothPlacementsEqualTheBruteForceReferenceBitForBit() {
    CalibrationGeometry g = new CalibrationGeometry(2, 2, 600);
    CalibrationConfig c = CalibrationConfig.defaults().withKGrid(List.of(2, 16, 64, 200))
        .withPlacements(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX).withRowLengths(32, 4)
        .withHistogram(-6, 10, 64).withEstimator(EstimatorKind.HISTOGRAM_QUANTILE);
    List<SyntheticRows.Row> rows = SyntheticRows.generate(5, g, 150, 600);
    CalibrationState s = SyntheticRows.state(g, c, rows);
    ReferenceCalibrator reference = new ReferenceCalibrator(g, c);
    SyntheticRows.feed(rows, reference);
    for (Placement p : c.placements()) {
      ThresholdTable t = ThresholdTable.from(s, p, c.estimatorInstance());
      assertEquals(reference.toTable(p, EstimatorKind.HISTOGRAM_QUANTILE), t, p.toString());
      assertTrue(t.calibratedCells() > 0);
      for (ThresholdCell cell : t.cells()) {
        if (p == Placement.POST_SOFTMAX) {
          assertTrue(cell.theta() > 0 && cell.theta() < 1, "a probability: " + cell);
        }
      }
    }
  }

  @Test
  void postSoftmaxKeptCountThresholdsKeepAboutKPerRowOnHeldOutRows() {
    CalibrationGeometry g = new CalibrationGeometry(1, 2, 2048);
    CalibrationConfig c = CalibrationConfig.defaults().withHistogram(-8, 24, 256)
        .withPlacements(Placement.POST_SOFTMAX).withEstimator(EstimatorKind.HISTOGRAM_QUANTILE);
    ThresholdTable t = ThresholdTable.from(
        SyntheticRows.state(g, c, SyntheticRows.generate(1, g, 400, 2048, false)),
        Placement.POST_SOFTMAX, c.estimatorInstance());
    List<SyntheticRows.Row> hold = SyntheticRows.generate(2, g, 400, 2048, false).stream()
        .filter(r -> r.scores().length > 300).toList();
    for (int k : new int[] {16, 64, 256}) {
      AttentionStats stats = new AttentionStats(1);
      AttentionKernel kernel = new AttentionKernel(AttentionMode.topTheta(t, k), null, stats);
      for (SyntheticRows.Row r : hold) {
        float[] a = r.scores().clone();
        kernel.apply(0, r.head(), 0, r.index(), a, 0, a.length, null, 0);
      }
      double ratio = stats.meanKeptPerThresholdedRow(0) / k;
      assertTrue(ratio > 0.75 && ratio < 1.33, "k " + k + ": ratio " + ratio);
    }
  }

  private static float[] concat(float[] a, float[] b) {
    float[] r = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  @Test
  void histogramThresholdsKeepAboutKPerRowOnHeldOutRows() {
    CalibrationGeometry g = new CalibrationGeometry(1, 2, 2048);
    CalibrationConfig c = CalibrationConfig.defaults().withHistogram(-8, 24, 512)
        .withEstimator(EstimatorKind.HISTOGRAM_QUANTILE);
    ThresholdTable t = ThresholdTable.from(
        SyntheticRows.state(g, c, SyntheticRows.generate(1, g, 400, 2048, false)),
        Placement.PRE_SOFTMAX, c.estimatorInstance());
    List<SyntheticRows.Row> hold = SyntheticRows.generate(2, g, 400, 2048, false).stream()
        .filter(r -> r.scores().length > 300).toList();
    for (int k : new int[] {16, 64, 256}) {
      AttentionStats stats = new AttentionStats(1);
      AttentionKernel kernel = new AttentionKernel(AttentionMode.topTheta(t, k), null, stats);
      for (SyntheticRows.Row r : hold) {
        float[] a = r.scores().clone();
        kernel.apply(0, r.head(), 0, r.index(), a, 0, a.length, null, 0);
      }
      double ratio = stats.meanKeptPerThresholdedRow(0) / k;
      assertTrue(ratio > 0.75 && ratio < 1.33, "k " + k + ": ratio " + ratio);
    }
  }

  @Test
  void driftBetweenHeadsWithDifferentScalesIsLargerThanBetweenTwoSamplesOfOneHead() {
    CalibrationGeometry g = new CalibrationGeometry(1, 2, 256);
    CalibrationConfig c = CalibrationConfig.defaults();
    CalibrationState a = SyntheticRows.state(g, c, SyntheticRows.generate(1, g, 200, 256, false));
    CalibrationState b = SyntheticRows.state(g, c, SyntheticRows.generate(2, g, 200, 256, false));
    int bucket = a.rowLengthIndex().bucketOf(200);
    double same = ScoreHistogram.wasserstein1(a.histogram(0, 0, bucket), b.histogram(0, 0, bucket));
    double other = ScoreHistogram.wasserstein1(a.histogram(0, 0, bucket), a.histogram(0, 1, bucket));
    assertTrue(other > 5 * same, "same head " + same + ", other head " + other);
  }
}
