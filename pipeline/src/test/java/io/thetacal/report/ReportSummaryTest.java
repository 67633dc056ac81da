package io.thetacal.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReportSummaryTest {

  @Test
  void countsPassesAndKeepsEachFailuresReason() {
    Gates gates = Gates.defaults();
    List<ReportCell> cells = gates.judgeAll(List.of(
        GatesTest.theta("wiki", "wiki", 1.02, GatesTest.nll(2.0, 2.001)),
        GatesTest.theta("wiki", "code", 1.6, GatesTest.nll(2.0, 2.001)),
        GatesTest.theta("code", "wiki", 0.95, GatesTest.nll(2.0, 2.2))));
    ReportSummary s = ReportSummary.of(gates, cells, List.of(), 5);
    assertEquals(3, s.cells());
    assertEquals(1, s.passed());
    assertEquals(2, s.failed());
    assertEquals(Map.of("kept/k", 1, "quality", 1), s.failuresByGate());
    assertTrue(s.outcomes().get(0).pass());
    assertFalse(s.outcomes().get(1).pass());
    assertTrue(s.outcomes().get(1).crossDomain());
    assertTrue(s.outcomes().get(1).reason().contains("kept/k 1.600 is outside"));
    assertTrue(s.outcomes().get(2).reason().startsWith("quality loss 10.00% > 1.00%"));
    assertEquals("wiki → code, k=16, PRE_SOFTMAX, SDC_EXACT_VMC", s.outcomes().get(1).cell());
  }

  @Test
  void driftRankingIsDescendingAndTruncated() {
    List<HeadDrift> drift = List.of(
        new HeadDrift("wiki", "code", 0, 1, 0.2),
        new HeadDrift("wiki", "code", 3, 0, 1.5),
        new HeadDrift("wiki", "code", 1, 2, 0.7),
        new HeadDrift("wiki", "code", 2, 2, 0.05));
    ReportSummary s = ReportSummary.of(Gates.defaults(), List.of(), drift, 2);
    assertEquals(List.of(drift.get(1), drift.get(2)), s.driftRanking());
    assertEquals("L3.H0 wiki → code", s.driftRanking().get(0).label());
  }

  @Test
  void refusesUnjudgedCells() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ReportSummary.of(Gates.defaults(),
            List.of(GatesTest.theta("a", "b", 1, GatesTest.nll(1, 1))), List.of(), 3));
    assertEquals("cell 'a → b, k=16, PRE_SOFTMAX, SDC_EXACT_VMC' has not been judged by the gates",
        e.getMessage());
  }
}
