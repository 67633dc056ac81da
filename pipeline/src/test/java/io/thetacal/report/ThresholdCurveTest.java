package io.thetacal.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.Placement;
import io.thetacal.attention.SdcMode;
import io.thetacal.attention.ThresholdLookup;
import org.junit.jupiter.api.Test;

class ThresholdCurveTest {

  @Test
  void samplesLengthsAboveKThroughTheLookup() {
    ThresholdLookup table = SyntheticReport.table(0);
    ThresholdCurve c = ThresholdCurve.sample("wiki", table, 16, 1, 2, 30, 5);
    assertArrayEquals(new int[] {17, 22, 27}, c.lengths());
    assertEquals(table.threshold(1, 2, 22, 16), c.thresholds()[1]);
    assertEquals(Placement.PRE_SOFTMAX, c.placement());
    assertEquals("L1.H2 (wiki, k=16)", c.label());
  }

  @Test
  void rejectsARangeWithoutThresholdedRows() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ThresholdCurve.sample("wiki", SyntheticReport.table(0), 16, 0, 0, 16, 1));
    assertEquals("'maxLength' is set to 16 but must be > k (16)", e.getMessage());
  }

  @Test
  void compensationMapsOntoTheKernelsModes() {
    AttentionMode.TopTheta base = AttentionMode.topTheta(SyntheticReport.table(0), 8);
    AttentionMode.TopTheta m = Compensation.SDC_OFFLINE_VMC.applyTo(base);
    assertEquals(SdcMode.OFFLINE, m.sdc());
    assertEquals(true, m.vmc());
    assertEquals(SdcMode.NONE, Compensation.VMC.applyTo(base).sdc());
    assertEquals(false, Compensation.SDC_EXP.applyTo(base).vmc());
    assertEquals(SdcMode.EXP_THRESHOLD, Compensation.SDC_EXP.applyTo(base).sdc());
    assertEquals(false, Compensation.SDC_EXACT.appliesTo(Placement.POST_SOFTMAX));
    assertEquals(true, Compensation.VMC.appliesTo(Placement.POST_SOFTMAX));
  }
}
