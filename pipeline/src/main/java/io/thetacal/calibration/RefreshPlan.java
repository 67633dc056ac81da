package io.thetacal.calibration;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;

/**
 * What an incremental refresh has to calibrate: the corpus partitions present now that the current
 * version's {@link Watermark} does not include. The merged state of a refresh is the current state plus
 * the state of the new partitions only; because the state is exact sums, calibrate(A) followed by a
 * refresh over B gives the same state, and so the same thresholds bit for bit, as calibrate(A ∪ B).
 *
 * @param current the watermark of the current version (empty for a first calibration)
 * @param newPartitions partitions to calibrate, sorted by dataset and id
 * @param removedPartitions partitions in the watermark that are no longer present (expired from the
 *     corpus); their rows stay in the state
 */
public record RefreshPlan(Watermark current, List<CorpusPartition> newPartitions,
    List<CorpusPartition> removedPartitions) {

  public RefreshPlan {
    Objects.requireNonNull(current, "current");
    newPartitions = List.copyOf(newPartitions);
    removedPartitions = List.copyOf(removedPartitions);
  }

  /**
   * Compares the partitions present with the current watermark.
   *
   * @throws IllegalArgumentException when a partition is listed twice, or when a partition already
   *     calibrated has a different fingerprint now (it was rewritten: its old rows cannot be taken out
   *     of the state, so only a full calibration can account for it)
   */
  public static RefreshPlan of(Watermark current, List<CorpusPartition> present) {
    List<CorpusPartition> fresh = new ArrayList<>();
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (CorpusPartition p : present) {
      if (!seen.add(p.dataset() + '\u0000' + p.id())) {
        throw new IllegalArgumentException("partition '" + p.id() + "' of dataset '" + p.dataset()
            + "' is listed twice");
      }
      String known = current.fingerprint(p.dataset(), p.id());
      if (known == null) {
        fresh.add(p);
      } else if (!known.equals(p.fingerprint())) {
        throw new IllegalArgumentException("partition '" + p.id() + "' of dataset '" + p.dataset()
            + "' was calibrated with fingerprint " + known + " but its content now has fingerprint "
            + p.fingerprint() + "; partitions must not change once landed. Write changed data as a new"
            + " partition, or run a full calibration");
      }
    }
    List<CorpusPartition> removed = new ArrayList<>();
    for (Map.Entry<String, SortedMap<String, String>> d : current.datasets().entrySet()) {
      for (Map.Entry<String, String> part : d.getValue().entrySet()) {
        if (!seen.contains(d.getKey() + '\u0000' + part.getKey())) {
          removed.add(new CorpusPartition(d.getKey(), part.getKey(), part.getValue()));
        }
      }
    }
    Comparator<CorpusPartition> order = Comparator.comparing(CorpusPartition::dataset)
        .thenComparing(CorpusPartition::id);
    fresh.sort(order);
    return new RefreshPlan(current, fresh, removed);
  }

  /** True when there is nothing new: a refresh then publishes nothing. */
  public boolean nothingNew() {
    return newPartitions.isEmpty();
  }

  /** The watermark of the version this refresh makes. */
  public Watermark next() {
    return current.plus(newPartitions);
  }

  /**
   * Checks that a refresh may continue a version calibrated with {@code current} using
   * {@code requested}: the settings must be equal, since they define what the state's sums mean (k grid,
   * placements, row-length buckets, histogram) or how thresholds are derived from them (estimator,
   * σ_add) and a refreshed version must be comparable with the one it continues.
   *
   * @throws IllegalArgumentException naming the first key that differs and both values
   */
  public static void requireCompatible(CalibrationConfig current, CalibrationConfig requested) {
    differs(CalibrationConfig.K_GRID, current.kGrid(), requested.kGrid());
    differs(CalibrationConfig.PLACEMENTS, current.placements(), requested.placements());
    differs(CalibrationConfig.EXACT_LENGTH_LIMIT, current.exactLengthLimit(),
        requested.exactLengthLimit());
    differs(CalibrationConfig.BUCKETS_PER_OCTAVE, current.bucketsPerOctave(),
        requested.bucketsPerOctave());
    differs(CalibrationConfig.HISTOGRAM_MIN, current.histogramMin(), requested.histogramMin());
    differs(CalibrationConfig.HISTOGRAM_MAX, current.histogramMax(), requested.histogramMax());
    differs(CalibrationConfig.HISTOGRAM_BINS, current.histogramBins(), requested.histogramBins());
    differs(CalibrationConfig.ESTIMATOR, current.estimator(), requested.estimator());
    differs(CalibrationConfig.SIGMA_ADD, current.sigmaAdd(), requested.sigmaAdd());
    if (!current.equals(requested)) {
      throw new IllegalArgumentException("the requested calibration config " + requested
          + " differs from the current version's " + current);
    }
  }

  private static void differs(String key, Object current, Object requested) {
    if (!current.equals(requested)) {
      throw new IllegalArgumentException("'" + key + "' is set to " + requested
          + " but the current version was calibrated with " + current + "; a refresh continues the"
          + " current state and must use the same value (run a full calibration to change it)");
    }
  }
}
