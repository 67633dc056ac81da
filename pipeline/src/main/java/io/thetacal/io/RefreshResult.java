package io.thetacal.io;

import io.thetacal.calibration.CorpusPartition;
import io.thetacal.calibration.Watermark;
import java.util.List;
import java.util.Objects;

/**
 * What a refresh did, for the CLI to print: whether a version was published, rejected by its gate, or
 * nothing was done because no partition was new; the watermark and the gate's verdict.
 *
 * @param outcome what happened
 * @param version the version published or rejected; null when nothing was new
 * @param previous the version current before the refresh; null for a first calibration
 * @param current the version current after the refresh (unchanged unless published)
 * @param watermark the watermark of {@code version}, or of {@code current} when nothing was new
 * @param newPartitions partitions calibrated by this refresh
 * @param removedPartitions partitions of the watermark no longer present in the corpus
 * @param gate the gate's verdict; null when nothing was new
 * @param pruned versions deleted by retention
 * @param warnings conditions the operator should know of (e.g. a stale lock of a killed run)
 */
public record RefreshResult(Outcome outcome, String version, String previous, String current,
    Watermark watermark, List<CorpusPartition> newPartitions, List<CorpusPartition> removedPartitions,
    CandidateGate.Verdict gate, List<String> pruned, List<String> warnings) {

  /** What a refresh did. */
  public enum Outcome {
    /** A new version passed its gate and is current. */
    PUBLISHED,
    /** A new version failed its gate; kept under _rejected, current unchanged. */
    REJECTED,
    /** No new partition since the current version: nothing calibrated, nothing published. */
    NOTHING_NEW
  }

  public RefreshResult {
    Objects.requireNonNull(outcome, "outcome");
    Objects.requireNonNull(watermark, "watermark");
    newPartitions = List.copyOf(newPartitions);
    removedPartitions = List.copyOf(removedPartitions);
    pruned = List.copyOf(pruned);
    warnings = List.copyOf(warnings);
  }

  /** One line for a console. */
  public String message() {
    return switch (outcome) {
      case NOTHING_NEW -> "nothing new since " + current + " (" + watermark.partitionCount()
          + " partitions); nothing published";
      case PUBLISHED -> "published " + version + " with " + newPartitions.size()
          + " new partitions (" + watermark.partitionCount() + " in all); current was "
          + (previous == null ? "none" : previous) + ", gate '" + gate.gate() + "' passed";
      case REJECTED -> "rejected " + version + " by gate '" + gate.gate() + "': "
          + String.join("; ", gate.reasons()) + "; current stays "
          + (current == null ? "none" : current);
    };
  }
}
