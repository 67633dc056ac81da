package io.thetacal.report;

import io.thetacal.attention.Placement;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a rendered report shows: the judged cells and their summary, threshold curves of chosen
 * heads, all heads' drift, which (k, placement, compensation) the heatmap focuses on, and provenance
 * (versions of code, model and thresholds; the inputs with their sizes and hashes).
 *
 * @param versions e.g. "thetacal", "model", "model.sha256", "java"; kept in insertion order
 * @param inputs e.g. datasets and threshold versions with hashes and sizes; kept in insertion order
 */
public record ReportData(
    String title,
    ReportSummary summary,
    List<ReportCell> cells,
    List<ThresholdCurve> thresholdCurves,
    List<HeadDrift> drift,
    int focusK,
    Placement focusPlacement,
    Compensation focusCompensation,
    Map<String, String> versions,
    Map<String, String> inputs) {

  public ReportData {
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(summary, "summary");
    Objects.requireNonNull(focusPlacement, "focusPlacement");
    Objects.requireNonNull(focusCompensation, "focusCompensation");
    cells = List.copyOf(cells);
    thresholdCurves = List.copyOf(thresholdCurves);
    drift = List.copyOf(drift);
    versions = Collections.unmodifiableMap(new LinkedHashMap<>(versions));
    inputs = Collections.unmodifiableMap(new LinkedHashMap<>(inputs));
    for (ReportCell c : cells) {
      if (c.verdict() == null) {
        throw new IllegalArgumentException("cell '" + c.label() + "' has not been judged by the gates");
      }
    }
  }

  /**
   * Judges measured cells by the gates, summarises them with the {@code topHeads} most-drifted heads,
   * and bundles everything for rendering.
   */
  public static ReportData assemble(String title, Gates gates, List<ReportCell> measured,
      List<HeadDrift> drift, int topHeads, List<ThresholdCurve> thresholdCurves, int focusK,
      Placement focusPlacement, Compensation focusCompensation, Map<String, String> versions,
      Map<String, String> inputs) {
    List<ReportCell> judged = gates.judgeAll(measured);
    return new ReportData(title, ReportSummary.of(gates, judged, drift, topHeads), judged,
        thresholdCurves, drift, focusK, focusPlacement, focusCompensation, versions, inputs);
  }
}
