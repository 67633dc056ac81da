package io.thetacal.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import java.util.List;
import org.junit.jupiter.api.Test;

class GatesTest {

  static KeptStats kept(double mean) {
    return new KeptStats(100, mean, mean * 0.5, mean * 1.5, List.of(mean, mean));
  }

  static ReportCell theta(String cal, String eval, double keptMean, Quality q) {
    return new ReportCell(cal, eval, 16, Placement.PRE_SOFTMAX, Compensation.SDC_EXACT_VMC,
        Method.TOP_THETA, kept(keptMean), 0.2, 0.3, 0.01, List.of(0.004, 0.006), 0.005, q, null);
  }

  static DecoderQuality nll(double dense, double sparse) {
    return new DecoderQuality(1000, dense, sparse, 1100, 0.97);
  }

  @Test
  void cellWithinBothBoundsPasses() {
    Verdict v = Gates.defaults().judge(theta("wiki", "code", 1.15, nll(2.0, 2.019)));
    assertTrue(v.pass(), v.reason());
    assertTrue(v.reason().contains("cross-domain mean kept/k 1.150 is within ±0.20"), v.reason());
    assertTrue(v.reason().contains("quality loss 0.95% ≤ 1.00%"), v.reason());
  }

  @Test
  void keptDeviationJustOverTheBoundFailsAndSaysWhichWay() {
    Verdict high = Gates.defaults().judge(theta("wiki", "code", 1.25, nll(2.0, 2.0)));
    assertFalse(high.pass());
    assertTrue(high.reason().startsWith("cross-domain mean kept/k 1.250 is outside ±0.20"), high.reason());
    assertTrue(high.reason().contains("thresholds too low, keeps too much"), high.reason());
    assertFalse(high.reason().contains("quality"), "only failing gates are listed: " + high.reason());
    Verdict low = Gates.defaults().judge(theta("wiki", "wiki", 0.7, nll(2.0, 2.0)));
    assertTrue(low.reason().startsWith("mean kept/k 0.700"), low.reason());
    assertTrue(low.reason().contains("prunes too much"), low.reason());
  }

  @Test
  void decoderQualityLossIsRelativeNllIncrease() {
    DecoderQuality q = nll(2.0, 2.05);
    assertEquals(0.025, q.loss(), 1e-12);
    assertEquals(0.05, q.nllDelta(), 1e-12);
    Verdict v = Gates.defaults().judge(theta("a", "a", 1.0, q));
    assertFalse(v.pass());
    assertTrue(v.reason().startsWith("quality loss 2.50% > 1.00% (NLL 2.0000 → 2.0500"), v.reason());
  }

  @Test
  void encoderQualityLossIsTheWorseOfCosineAndMrrDrop() {
    EncoderQuality cosineBound = new EncoderQuality(50, 0.995, 25, 0.80, 0.799, 0.7, 0.7);
    assertEquals(0.005, cosineBound.loss(), 1e-12);
    EncoderQuality mrrBound = new EncoderQuality(50, 0.999, 25, 0.80, 0.77, 0.7, 0.66);
    assertEquals(0.03, mrrBound.loss(), 1e-12);
    EncoderQuality noPairs = new EncoderQuality(50, 0.98, 0, Double.NaN, Double.NaN, Double.NaN,
        Double.NaN);
    assertEquals(0.02, noPairs.loss(), 1e-12);
    assertTrue(Gates.defaults().judge(theta("a", "b", 1.0, cosineBound)).pass());
    Verdict v = Gates.defaults().judge(theta("a", "b", 1.0, mrrBound));
    assertFalse(v.pass());
    assertTrue(v.reason().contains("MRR 0.800 → 0.770 (drop 0.0300)"), v.reason());
  }

  @Test
  void unmeasurableCellsFail() {
    ReportCell none = new ReportCell("a", "b", 16, Placement.PRE_SOFTMAX, Compensation.NONE,
        Method.TOP_THETA, new KeptStats(0, Double.NaN, Double.NaN, Double.NaN, List.of()), 1, 1, 0,
        List.of(), Double.NaN, nll(0, 0), null);
    Verdict v = Gates.defaults().judge(none);
    assertFalse(v.pass());
    assertTrue(v.reason().contains("no row was longer than k=16"), v.reason());
    assertTrue(v.reason().contains("quality loss could not be measured"), v.reason());
  }

  @Test
  void topKAlwaysPassesTheKeptGate() {
    ReportCell topK = new ReportCell(null, "code", 16, null, Compensation.NONE, Method.TOP_K,
        kept(1.0), 0.2, 0.3, 0.01, List.of(0.004, 0.006), 0.005, nll(2.0, 2.01), null);
    Verdict v = Gates.defaults().judge(topK);
    assertTrue(v.pass(), v.reason());
    assertEquals("top-k on code, k=16", topK.label());
    assertFalse(topK.crossDomain());
  }

  @Test
  void customBoundsAreUsed() {
    Gates loose = new Gates(0.5, 0.05);
    assertTrue(loose.judge(theta("a", "b", 1.4, nll(2.0, 2.05))).pass());
  }

  @Test
  void invalidBoundsAreRejectedNamingTheKey() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Gates(0, 0.01));
    assertEquals("'maxKeptDeviation' is set to 0.0 but must be a finite number > 0", e.getMessage());
    IllegalArgumentException f = assertThrows(IllegalArgumentException.class, () -> new Gates(0.2, -1));
    assertEquals("'maxQualityLoss' is set to -1.0 but must be a finite number >= 0", f.getMessage());
  }

  @Test
  void cellRejectsSdcWithPostSoftmaxPlacement() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ReportCell("a", "b", 16, Placement.POST_SOFTMAX, Compensation.SDC_EXP,
            Method.TOP_THETA, kept(1), 0, 0, 0, List.of(0.0, 0.0), 0, nll(1, 1), null));
    assertEquals("'compensation' is set to SDC_EXP but softmax denominator compensation needs"
        + " PRE_SOFTMAX placement, not POST_SOFTMAX", e.getMessage());
  }
}
