package io.thetacal.io;

import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.ThresholdTable;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * Decides whether a refreshed threshold candidate may be published. The production gate runs the
 * report's quality gates on holdout datasets ({@code io.thetacal.report.ReportGate}).
 */
@FunctionalInterface
public interface CandidateGate {

  /** Evaluates a candidate; must not modify it. */
  Verdict evaluate(Candidate candidate) throws IOException;

  /** Passes every candidate, for stores without holdout data; its name says so in each version. */
  static CandidateGate none() {
    return c -> new Verdict("none", true, List.of("no gate configured"), null);
  }

  /**
   * A candidate version before it is published.
   *
   * @param version the name it will be published under
   * @param table its thresholds
   * @param state the merged state behind them
   * @param manifest its thresholds.json
   */
  record Candidate(String version, ThresholdTable table, CalibrationState state,
      ThresholdManifest manifest) {
    public Candidate {
      Objects.requireNonNull(version, "version");
      Objects.requireNonNull(table, "table");
      Objects.requireNonNull(state, "state");
      Objects.requireNonNull(manifest, "manifest");
    }
  }

  /**
   * A gate's decision.
   *
   * @param gate which gate decided (e.g. "report")
   * @param pass whether the candidate may be published
   * @param reasons one sentence per check, the failing ones first when it fails
   * @param reportJson the full evaluation as JSON, stored with the version (or the rejected
   *     candidate) as report.json; null for none
   */
  record Verdict(String gate, boolean pass, List<String> reasons, String reportJson) {
    public Verdict {
      Objects.requireNonNull(gate, "gate");
      reasons = List.copyOf(reasons);
    }
  }
}
