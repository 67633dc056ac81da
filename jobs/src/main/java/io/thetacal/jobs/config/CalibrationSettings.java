package io.thetacal.jobs.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.thetacal.attention.Placement;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What {@code thetacal calibrate} computes.
 *
 * @param datasets names of the ingested datasets to calibrate on (their calibration split)
 * @param kGrid target kept elements per row; thresholds for every k come from one pass
 * @param sigmaAdd θ = mean + sigma_add · std of the per-row thresholds (0.1 in the paper)
 * @param placements pre- and/or post-softmax placement
 * @param estimator how θ is derived from the statistics
 * @param topKAtCalibration run every layer with exact top-k, one pass per k, so that each layer is
 *     calibrated on the activations it sees when sparse (TAC); absent: on for decoders, off for encoders
 * @param maxSequences calibrate on at most this many sequences (0: all), chosen by a seeded hash
 * @param holdoutSequences holdout sequences (at most) for the in-domain check of kept elements / k; 0
 *     skips the check
 * @param maxRejectedFraction calibrate and refresh stop when more than this share of the sequences they
 *     read cannot be taken by the model (those rows are quarantined under {@code <out>/rejected/} either way)
 * @param depthCorrectionSequences calibration sequences (the first by the seeded hash) on which the
 *     thresholds are shifted per layer and k with Top-θ in every layer ({@code DepthCorrection}); 0: no
 *     correction
 */
public record CalibrationSettings(
    List<String> datasets,
    List<Integer> kGrid,
    double sigmaAdd,
    List<Placement> placements,
    Estimator estimator,
    @JsonProperty("top_k_at_calibration") Boolean topKAtCalibration,
    long maxSequences,
    int holdoutSequences,
    double maxRejectedFraction,
    int depthCorrectionSequences) {

  public CalibrationSettings {
    datasets = datasets == null ? null : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(datasets));
    kGrid = kGrid == null ? null : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(kGrid));
    placements = placements == null ? null : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(placements));
  }

  /** Whether calibration runs with top-k at calibration for a model of this family. */
  public boolean topKAtCalibrationFor(io.thetacal.model.ModelFamily family) {
    return topKAtCalibration != null ? topKAtCalibration
        : family == io.thetacal.model.ModelFamily.DECODER;
  }

  /** Estimators of θ from the calibration statistics. */
  public enum Estimator {
    /** The paper's: mean + sigma_add · std of t_row(k) per (layer, head, n). */
    MEAN_STD,
    /**
     * Kept-count matching (the default): θ per (layer, head, n-bucket) such that the calibration rows
     * keep k elements on average, read from the bucket's score (pre-softmax) or log-probability
     * (post-softmax) histogram.
     */
    HISTOGRAM_QUANTILE
  }

  void validate(String key, Problems p, Set<String> datasetNames) {
    if (!p.missing(key + ".datasets", datasets)) {
      if (datasets.isEmpty()) {
        p.mustBe(key + ".datasets", datasets, "a non-empty list of names from 'corpora'");
      }
      for (int i = 0; i < datasets.size(); i++) {
        if (!datasetNames.contains(datasets.get(i))) {
          p.mustBe(key + ".datasets[" + i + "]", datasets.get(i),
              "the name of a dataset in 'corpora', one of " + new java.util.TreeSet<>(datasetNames));
        }
      }
    }
    if (!p.missing(key + ".k_grid", kGrid)) {
      if (kGrid.isEmpty()) {
        p.mustBe(key + ".k_grid", kGrid, "a non-empty list of integers > 0");
      }
      Set<Integer> seen = new HashSet<>();
      for (int i = 0; i < kGrid.size(); i++) {
        Integer k = kGrid.get(i);
        if (k == null || k <= 0) {
          p.mustBe(key + ".k_grid[" + i + "]", k, "an integer > 0");
        } else if (!seen.add(k)) {
          p.mustBe(key + ".k_grid[" + i + "]", k, "unique (it appears twice)");
        }
      }
    }
    if (!(sigmaAdd >= 0) || Double.isInfinite(sigmaAdd) || sigmaAdd > 10) {
      p.mustBe(key + ".sigma_add", sigmaAdd, "a number in [0, 10]");
    }
    if (!p.missing(key + ".placements", placements)) {
      if (placements.isEmpty() || placements.contains(null)
          || new HashSet<>(placements).size() != placements.size()) {
        p.mustBe(key + ".placements", placements,
            "a non-empty list of distinct values from [pre_softmax, post_softmax]");
      }
    }
    p.missing(key + ".estimator", estimator);
    if (holdoutSequences < 0) {
      p.mustBe(key + ".holdout_sequences", holdoutSequences, ">= 0 (0 skips the holdout check)");
    }
    if (maxSequences < 0) {
      p.mustBe(key + ".max_sequences", maxSequences, ">= 0 (0 means all)");
    }
    p.fraction(key + ".max_rejected_fraction", maxRejectedFraction, true);
    if (depthCorrectionSequences < 0) {
      p.mustBe(key + ".depth_correction_sequences", depthCorrectionSequences,
          ">= 0 (0 publishes the thresholds without the depth correction)");
    }
  }
}
