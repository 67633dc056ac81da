package io.thetacal.report;

import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a user reads first: how many cells pass the gates, each cell's outcome with its reason, and the
 * heads whose score distribution drifted most between calibration and evaluation data.
 *
 * @param failuresByGate for each gate, the cells that failed it (a cell can fail several)
 * @param outcomes one per cell, in cell order
 * @param driftRanking heads by descending drift, at most the requested number
 */
public record ReportSummary(Gates gates, int cells, int passed, int failed,
    Map<String, Integer> failuresByGate, List<Outcome> outcomes, List<HeadDrift> driftRanking) {

  public ReportSummary {
    failuresByGate = Collections.unmodifiableMap(new LinkedHashMap<>(failuresByGate));
    outcomes = List.copyOf(outcomes);
    driftRanking = List.copyOf(driftRanking);
  }

  /** One cell's outcome. */
  public record Outcome(String cell, Method method, boolean crossDomain, boolean pass, String reason) {
  }

  /**
   * Summarises judged cells and ranks the drift of heads.
   *
   * @param cells cells with verdicts ({@link Gates#judgeAll})
   * @param drift per-head drift, any order
   * @param topHeads how many of the most-drifted heads to keep
   */
  public static ReportSummary of(Gates gates, List<ReportCell> cells, List<HeadDrift> drift,
      int topHeads) {
    if (topHeads < 0) {
      throw new IllegalArgumentException("'topHeads' is set to " + topHeads + " but must be >= 0");
    }
    List<Outcome> outcomes = cells.stream().map(c -> {
      if (c.verdict() == null) {
        throw new IllegalArgumentException("cell '" + c.label() + "' has not been judged by the gates");
      }
      return new Outcome(c.label(), c.method(), c.crossDomain(), c.verdict().pass(),
          c.verdict().reason());
    }).toList();
    int passed = (int) outcomes.stream().filter(Outcome::pass).count();
    Map<String, Integer> byGate = new LinkedHashMap<>();
    for (ReportCell c : cells) {
      for (GateResult g : c.verdict().gates()) {
        byGate.merge(g.gate(), g.pass() ? 0 : 1, Integer::sum);
      }
    }
    List<HeadDrift> ranking = drift.stream()
        .sorted(Comparator.comparingDouble(HeadDrift::wasserstein1).reversed()
            .thenComparingInt(HeadDrift::layer).thenComparingInt(HeadDrift::head))
        .limit(topHeads).toList();
    return new ReportSummary(gates, outcomes.size(), passed, outcomes.size() - passed, byGate,
        outcomes, ranking);
  }
}
