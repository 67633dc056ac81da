package io.thetacal.jobs.config;

import io.thetacal.report.Compensation;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What {@code thetacal report} evaluates: the grid of cells (k values, compensations, top-k baseline),
 * the evaluation datasets and how much of their holdout split, and the gates cells are judged by. The
 * placements are the calibrated ones ({@code calibration.placements}).
 *
 * @param datasets evaluation datasets (their holdout split); empty: every dataset of {@code corpora}
 * @param ks target k values; each must be in {@code calibration.k_grid} (checked when the report runs,
 *     so that other jobs run with any k grid)
 * @param compensations compensation variants (SDC variants apply to pre-softmax only)
 * @param topK also measure the exact top-k baseline at every k
 * @param maxSequences holdout sequences per evaluation dataset, chosen by a seeded hash
 * @param gates pass/fail criteria
 */
public record ReportSettings(
    List<String> datasets,
    List<Integer> ks,
    List<Compensation> compensations,
    boolean topK,
    int maxSequences,
    GateSettings gates) {

  public ReportSettings {
    datasets = datasets == null ? null : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(datasets));
    ks = ks == null ? null : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(ks));
    compensations = compensations == null ? null
        : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(compensations));
  }

  /**
   * The report's gates.
   *
   * @param maxKeptDeviation bound on |mean kept/k - 1| of Top-θ cells
   * @param maxQualityLoss bound on the quality loss against dense, as a fraction
   */
  public record GateSettings(double maxKeptDeviation, double maxQualityLoss) {
  }

  void validate(String key, Problems p, Set<String> datasetNames) {
    if (!p.missing(key + ".datasets", datasets)) {
      for (int i = 0; i < datasets.size(); i++) {
        if (!datasetNames.contains(datasets.get(i))) {
          p.mustBe(key + ".datasets[" + i + "]", datasets.get(i),
              "the name of a dataset in 'corpora', one of " + new java.util.TreeSet<>(datasetNames));
        }
      }
    }
    if (!p.missing(key + ".ks", ks)) {
      if (ks.isEmpty()) {
        p.mustBe(key + ".ks", ks, "a non-empty list of integers > 0");
      }
      Set<Integer> seen = new HashSet<>();
      for (int i = 0; i < ks.size(); i++) {
        Integer k = ks.get(i);
        if (k == null || k <= 0) {
          p.mustBe(key + ".ks[" + i + "]", k, "an integer > 0");
        } else if (!seen.add(k)) {
          p.mustBe(key + ".ks[" + i + "]", k, "unique (it appears twice)");
        }
      }
    }
    if (!p.missing(key + ".compensations", compensations)) {
      java.util.List<String> allowed = java.util.Arrays.stream(Compensation.values())
          .map(c -> c.name().toLowerCase(java.util.Locale.ROOT)).toList();
      if (compensations.isEmpty()) {
        p.mustBe(key + ".compensations", compensations, "a non-empty list of distinct values from "
            + allowed);
      }
      Set<Compensation> seenCompensations = new HashSet<>();
      for (int i = 0; i < compensations.size(); i++) {
        Compensation c = compensations.get(i);
        if (c == null) {
          p.mustBe(key + ".compensations[" + i + "]", null, "one of " + allowed);
        } else if (!seenCompensations.add(c)) {
          p.mustBe(key + ".compensations[" + i + "]", c.name().toLowerCase(java.util.Locale.ROOT),
              "unique (it appears twice); distinct values from " + allowed);
        }
      }
    }
    p.positive(key + ".max_sequences", maxSequences);
    if (!p.missing(key + ".gates", gates)) {
      if (!(gates.maxKeptDeviation() > 0) || Double.isInfinite(gates.maxKeptDeviation())) {
        p.mustBe(key + ".gates.max_kept_deviation", gates.maxKeptDeviation(), "a finite number > 0");
      }
      if (!(gates.maxQualityLoss() >= 0) || Double.isInfinite(gates.maxQualityLoss())) {
        p.mustBe(key + ".gates.max_quality_loss", gates.maxQualityLoss(), "a finite number >= 0");
      }
    }
  }
}
