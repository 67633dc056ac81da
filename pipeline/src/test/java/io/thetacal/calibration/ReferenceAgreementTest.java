package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    // both placements, most (layer, head, bucket, k) cells populated
    assertTrue(compared > 900, "compared " + compared + " cells");
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
