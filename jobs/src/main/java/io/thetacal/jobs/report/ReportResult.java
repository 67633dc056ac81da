package io.thetacal.jobs.report;

import java.time.Duration;
import java.util.Map;

/**
 * What {@code thetacal report} produced.
 *
 * @param html the self-contained report.html
 * @param json report.json
 * @param parquet report.parquet (one row per cell)
 * @param thresholds the threshold versions evaluated: "calibration dataset / placement" → version
 *     directory
 * @param cells cells measured
 * @param passed cells that passed every gate
 * @param forwardPasses model forward passes run
 */
public record ReportResult(String html, String json, String parquet, Map<String, String> thresholds,
    int cells, int passed, long forwardPasses, Duration elapsed) {
  public ReportResult {
    thresholds = Map.copyOf(thresholds);
  }
}
