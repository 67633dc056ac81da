package io.thetacal.jobs.config;

import io.thetacal.attention.Placement;
import io.thetacal.report.Compensation;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What only {@code thetacal refresh} needs; everything else (model, calibration settings, gates, Spark,
 * output root) is the same configuration {@code calibrate} ran with, so a refresh continues a calibrated
 * version without restating its settings. Empty lists take their value from the rest of the
 * configuration, as documented per key.
 *
 * @param datasets datasets whose new partitions are calibrated; empty: {@code calibration.datasets}
 * @param roots dataset name → the directory whose entries are its partitions; a dataset not listed is
 *     the ingested one, {@code <output.root>/corpora/dataset=<name>}
 * @param textColumn the Parquet column holding the text of partitions that are not ingested (no
 *     {@code input_ids} column); such text is tokenized and cut to {@code model.max_sequence_length}
 * @param holdout datasets the gate judges (their holdout split when they have a {@code split} column);
 *     empty: the refreshed datasets
 * @param holdoutSequences holdout sequences per dataset the gate evaluates, chosen by a seeded hash
 * @param gateK the k the gate judges at; must be in {@code calibration.k_grid} (checked when the refresh
 *     runs); the bounds are {@code report.gates}
 * @param gateCompensation the compensation each placement's thresholds are judged with (the one they are
 *     served with)
 * @param placements placements refreshed and published, each in its own store; empty: every placement
 *     of {@code calibration.placements}
 * @param retention published versions kept per store (at least 2: the current one and the one a
 *     rollback returns to)
 */
public record RefreshSettings(
    List<String> datasets,
    Map<String, String> roots,
    String textColumn,
    List<String> holdout,
    int holdoutSequences,
    int gateK,
    GateCompensation gateCompensation,
    List<Placement> placements,
    int retention) {

  public RefreshSettings {
    datasets = datasets == null ? null : Collections.unmodifiableList(new java.util.ArrayList<>(datasets));
    roots = roots == null ? Map.of() : Collections.unmodifiableSortedMap(new TreeMap<>(roots));
    holdout = holdout == null ? null : Collections.unmodifiableList(new java.util.ArrayList<>(holdout));
    placements = placements == null ? null
        : Collections.unmodifiableList(new java.util.ArrayList<>(placements));
  }

  /**
   * The compensation the gate judges each placement with; the paper's settings by default: exact
   * softmax-denominator compensation plus V-mean compensation before the softmax, V-mean after it.
   *
   * @param preSoftmax compensation of pre-softmax thresholds
   * @param postSoftmax compensation of post-softmax thresholds (no softmax-denominator compensation)
   */
  public record GateCompensation(Compensation preSoftmax, Compensation postSoftmax) {
    /** The compensation of a placement. */
    public Compensation of(Placement p) {
      return p == Placement.PRE_SOFTMAX ? preSoftmax : postSoftmax;
    }
  }

  /** The datasets refreshed: {@link #datasets}, or the calibration's when empty. */
  public List<String> datasetsOr(List<String> calibrationDatasets) {
    return datasets.isEmpty() ? calibrationDatasets : datasets;
  }

  /** The datasets the gate judges: {@link #holdout}, or the refreshed ones when empty. */
  public List<String> holdoutOr(List<String> refreshed) {
    return holdout.isEmpty() ? refreshed : holdout;
  }

  /** The placements refreshed: {@link #placements}, or the calibrated ones when empty. */
  public List<Placement> placementsOr(List<Placement> calibrated) {
    return placements.isEmpty() ? calibrated : placements;
  }

  /** The partition root of a dataset: {@link #roots} or the ingested dataset under the output root. */
  public String root(String dataset, String outputRoot) {
    String r = roots.get(dataset);
    return r != null ? r : outputRoot + "/corpora/dataset=" + dataset;
  }

  void validate(String key, Problems p, Set<String> corpora, List<Placement> calibrated) {
    Set<String> known = new HashSet<>(corpora);
    known.addAll(roots.keySet());
    names(key + ".datasets", datasets, known, p);
    names(key + ".holdout", holdout, known, p);
    for (Map.Entry<String, String> e : roots.entrySet()) {
      if (e.getKey().isBlank()) {
        p.add("'" + key + ".roots' has an empty dataset name but names must be non-empty");
      }
      if (e.getValue() == null || e.getValue().isBlank()) {
        p.mustBe(key + ".roots." + e.getKey(), e.getValue(), "the directory of the dataset's partitions");
      }
    }
    p.notBlank(key + ".text_column", textColumn);
    p.positive(key + ".holdout_sequences", holdoutSequences);
    p.positive(key + ".gate_k", gateK);
    if (!p.missing(key + ".gate_compensation", gateCompensation)) {
      p.missing(key + ".gate_compensation.pre_softmax", gateCompensation.preSoftmax());
      if (!p.missing(key + ".gate_compensation.post_softmax", gateCompensation.postSoftmax())
          && !gateCompensation.postSoftmax().appliesTo(Placement.POST_SOFTMAX)) {
        p.mustBe(key + ".gate_compensation.post_softmax",
            gateCompensation.postSoftmax().name().toLowerCase(java.util.Locale.ROOT),
            "none or vmc: softmax denominator compensation needs pre-softmax placement");
      }
    }
    if (!p.missing(key + ".placements", placements)) {
      if (placements.contains(null) || new HashSet<>(placements).size() != placements.size()) {
        p.mustBe(key + ".placements", placements,
            "a list of distinct values from [pre_softmax, post_softmax] ([]: calibration.placements)");
      } else if (calibrated != null) {
        for (int i = 0; i < placements.size(); i++) {
          if (!calibrated.contains(placements.get(i))) {
            p.mustBe(key + ".placements[" + i + "]", placements.get(i).name().toLowerCase(java.util.Locale.ROOT),
                "one of 'calibration.placements' " + calibrated.stream()
                    .map(x -> x.name().toLowerCase(java.util.Locale.ROOT)).toList());
          }
        }
      }
    }
    p.atLeast(key + ".retention", retention, 2);
  }

  private static void names(String key, List<String> names, Set<String> known, Problems p) {
    if (p.missing(key, names)) {
      return;
    }
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < names.size(); i++) {
      String n = names.get(i);
      if (n == null || !known.contains(n)) {
        p.mustBe(key + "[" + i + "]", n, "a dataset of 'corpora' or of 'refresh.roots', one of "
            + new java.util.TreeSet<>(known));
      } else if (!seen.add(n)) {
        p.mustBe(key + "[" + i + "]", n, "unique (it appears twice)");
      }
    }
  }
}
