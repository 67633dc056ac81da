package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.Placement;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReferenceAgreementTest {
  static final CalibrationGeometry GEOMETRY = new CalibrationGeometry(2, 3, 700);
  static final CalibrationConfig CONFIG = CalibrationConfig.defaults()
      .withKGrid(List.of(1, 4, 16, 64, 256))
      .withPlacements(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)
      .withRowLengths(16, 4)
      .withSigmaAdd(0.1);

  @Test
  void thresholdsAreBitwiseEqualToTheSortingBigDecimalReference() {
    List<SyntheticRows.Row> rows = SyntheticRows.generate(20251123L, GEOMETRY, 150, 700);
    CalibrationState state = new CalibrationState(GEOMETRY, CONFIG);
    ReferenceCalibrator ref = new ReferenceCalibrator(GEOMETRY, CONFIG);
    SyntheticRows.feed(rows, state, ref);
    assertEquals(rows.size(), ref.rowCount());
    assertEquals(rows.size(), state.rowsObserved());

    RowLengthIndex idx = state.rowLengthIndex();
    int[] ks = state.kGrid();
    int compared = 0;
    for (Placement p : Placement.values()) {
      ThresholdTable table = ThresholdTable.from(state, p, Estimators.meanStd(CONFIG.sigmaAdd()));
      for (int l = 0; l < GEOMETRY.numLayers(); l++) {
        for (int h = 0; h < GEOMETRY.numHeads(); h++) {
          for (int b = 0; b < idx.numBuckets(); b++) {
            for (int ki = 0; ki < ks.length; ki++) {
              ReferenceCalibrator.Cell want = ref.cell(p, l, h, b, ks[ki]);
              String where = p + " layer " + l + " head " + h + " bucket " + b + " k " + ks[ki];
              if (want == null) {
                assertEquals(0, table.cellRows(l, h, b, ki), where);
                continue;
              }
              assertEquals(want.rows(), table.cellRows(l, h, b, ki), where);
              assertEquals(Float.floatToIntBits(want.theta()),
                  Float.floatToIntBits(table.cellTheta(l, h, b, ki)), where);
              assertEquals(Double.doubleToLongBits(want.mean()),
                  Double.doubleToLongBits(table.cellMean(l, h, b, ki)), where);
              assertEquals(Double.doubleToLongBits(want.std()),
                  Double.doubleToLongBits(table.cellStd(l, h, b, ki)), where);
              assertEquals(Double.doubleToLongBits(want.sdcMass()),
                  Double.doubleToLongBits(table.cellSdcMass(l, h, b, ki)), where);
              compared++;
            }
          }
        }
      }
    }
    for (Placement p : Placement.values()) {
      assertEquals(ref.toTable(p), ThresholdTable.from(state, p, Estimators.meanStd(CONFIG.sigmaAdd())));
    }
    // both placements, most (layer, head, bucket, k) cells populated
    assertTrue(compared > 900, "compared " + compared + " cells");
  }

  /**
   * Long sorted, spiky and heavily tied rows crowd the state's selection bins unevenly (whole rows in one
   * bin or sixteenth of a bin), which must not change any result.
   */
  @Test
  void longAndAdversarialRowsAgreeWithTheReferenceToo() {
    CalibrationGeometry g = new CalibrationGeometry(1, 2, 4096);
    CalibrationConfig c = CONFIG.withRowLengths(64, 2);
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(77);
    java.util.List<SyntheticRows.Row> rows = new java.util.ArrayList<>();
    for (int r = 0; r < 120; r++) {
      int n = 1200 + rnd.nextInt(2896);
      float[] s = new float[n];
      for (int j = 0; j < n; j++) {
        switch (r % 6) {
          case 0 -> s[j] = j * 0.01f;
          case 1 -> s[j] = -j * 0.01f;
          case 2 -> s[j] = (j % 256 == 0) ? 5f : (float) rnd.nextGaussian();
          case 3 -> s[j] = (float) Math.floor(rnd.nextDouble() * 3);
          case 4 -> s[j] = j % 16 == 0 ? 1f : 0f;
          default -> s[j] = (float) (rnd.nextGaussian() * 4);
        }
      }
      rows.add(new SyntheticRows.Row(0, r % 2, r, s));
    }
    CalibrationState state = new CalibrationState(g, c);
    ReferenceCalibrator ref = new ReferenceCalibrator(g, c);
    SyntheticRows.feed(rows, state, ref);
    int compared = 0;
    for (Placement p : Placement.values()) {
      ThresholdTable table = ThresholdTable.from(state, p, Estimators.meanStd(c.sigmaAdd()));
      for (int h = 0; h < 2; h++) {
        for (int b = 0; b < state.rowLengthIndex().numBuckets(); b++) {
          for (int ki = 0; ki < c.kGrid().size(); ki++) {
            ReferenceCalibrator.Cell want = ref.cell(p, 0, h, b, c.kGrid().get(ki));
            if (want == null) {
              assertEquals(0, table.cellRows(0, h, b, ki));
              continue;
            }
            String where = p + " head " + h + " bucket " + b + " k " + c.kGrid().get(ki);
            assertEquals(want.rows(), table.cellRows(0, h, b, ki), where);
            assertEquals(Float.floatToIntBits(want.theta()),
                Float.floatToIntBits(table.cellTheta(0, h, b, ki)), where);
            assertEquals(Double.doubleToLongBits(want.sdcMass()),
                Double.doubleToLongBits(table.cellSdcMass(0, h, b, ki)), where);
            compared++;
          }
        }
      }
    }
    assertTrue(compared >= 2 * 2 * 3 * 5, compared + " cells compared");
  }

  /**
   * The selection works inside the histogram's bins (or 64 bins on its range when histograms are off):
   * with no histogram, with a coarse one that puts most scores in its under- and overflow bins and ties
   * on bin edges, with a single bin, and with the finest allowed one, every threshold and pruned mass
   * still equals the sorting reference's, and the per-k (TAC) observers give the same state.
   */
  @Test
  void thresholdsAgreeWithTheReferenceWhateverTheHistogramBins() {
    List<SyntheticRows.Row> rows = SyntheticRows.generate(99L, GEOMETRY, 60, 700);
    for (CalibrationConfig c : List.of(CONFIG.withHistogram(-16, 48, 0), CONFIG.withHistogram(-1, 1, 4),
        CONFIG.withHistogram(-0.5, 0.5, 1),
        CONFIG.withHistogram(-8, 8, CalibrationConfig.HISTOGRAM_BINS_LIMIT))) {
      CalibrationState state = new CalibrationState(GEOMETRY, c);
      CalibrationState tac = new CalibrationState(GEOMETRY, c);
      ReferenceCalibrator ref = new ReferenceCalibrator(GEOMETRY, c);
      SyntheticRows.feed(rows, state, ref);
      for (int k : c.kGrid()) {
        SyntheticRows.feed(rows, tac.observerForK(k));
      }
      for (Placement p : Placement.values()) {
        ThresholdTable want = ref.toTable(p);
        assertEquals(want, ThresholdTable.from(state, p, Estimators.meanStd(c.sigmaAdd())), p + " with "
            + c.histogramBins() + " bins on [" + c.histogramMin() + ", " + c.histogramMax() + "]");
      }
      assertEquals(state, tac, "per-k observers with " + c.histogramBins() + " bins");
    }
  }

  /**
   * A top-k-at-calibration pass takes each row's (k+1)-th largest score and top-k mass from the selection
   * its attention kernel made for that k; the state is bitwise the one the same rows give through a dense
   * kernel, where the state selects from the row alone (ties, constant rows, rows of every length, both
   * placements' passes, with and without histograms).
   */
  @Test
  void topKPassesUsingTheKernelsSelectionGiveTheSameState() {
    List<SyntheticRows.Row> rows = SyntheticRows.generate(7L, GEOMETRY, 40, 700);
    for (CalibrationConfig c : List.of(CONFIG, CONFIG.withHistogram(-16, 48, 0))) {
      CalibrationState fromKernel = new CalibrationState(GEOMETRY, c);
      CalibrationState fromRows = new CalibrationState(GEOMETRY, c);
      for (int k : c.kGrid()) {
        for (Placement p : c.placements()) {
          SyntheticRows.feed(rows, AttentionMode.topK(k, p), fromKernel.observerForK(k, p));
          SyntheticRows.feed(rows, fromRows.observerForK(k, p));
        }
      }
      assertEquals(fromRows, fromKernel, c.histogramBins() + " bins");
      assertEquals(SyntheticRows.state(GEOMETRY, c, rows), fromKernel, "all-k state, " + c.histogramBins()
          + " bins");
    }
  }

  @Test
  void tiesAndConstantRowsGiveTheTiedValueAndThePrunedCount() {
    CalibrationGeometry g = new CalibrationGeometry(1, 1, 100);
    CalibrationConfig c = CONFIG.withKGrid(List.of(4));
    float[] constant = new float[40];
    java.util.Arrays.fill(constant, 2.5f);
    CalibrationState state = SyntheticRows.state(g, c,
        List.of(new SyntheticRows.Row(0, 0, 0, constant)));
    Moments m = state.moments(Placement.PRE_SOFTMAX, 0, 0, state.rowLengthIndex().bucketOf(40), 0);
    assertEquals(1, m.count());
    assertEquals(2.5f, m.theta(0.1));
    // every e^{a - m} is 1: D = 40, the top 4 hold 4, so 36 is pruned
    assertEquals(36.0, state.sdcMass(0, 0, state.rowLengthIndex().bucketOf(40), 0), 1e-9);
    Moments post = state.moments(Placement.POST_SOFTMAX, 0, 0,
        state.rowLengthIndex().bucketOf(40), 0);
    assertEquals(1 / 40.0, post.mean().doubleValue(), 1e-14);

    ReferenceCalibrator ref = new ReferenceCalibrator(g, c);
    float[] tied = {3, 1, 3, 3, 2, 3, 3, 0, 1};
    SyntheticRows.feed(List.of(new SyntheticRows.Row(0, 0, 0, tied)), ref);
    assertEquals(3f, ref.cell(Placement.PRE_SOFTMAX, 0, 0, 8, 4).theta(), "5th largest of 3,3,3,3,3");
    assertNull(ref.cell(Placement.PRE_SOFTMAX, 0, 0, 3, 4), "n = 4 is not > k = 4");
  }
}
