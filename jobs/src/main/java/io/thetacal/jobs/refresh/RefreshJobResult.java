package io.thetacal.jobs.refresh;

import io.thetacal.attention.Placement;
import io.thetacal.io.RefreshResult;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

/**
 * What {@code thetacal refresh} did to each placement's store, and how long it took.
 *
 * @param placements each refreshed placement's result, in placement order
 * @param calibratedSequences sequences of new partitions captured (once for all placements)
 * @param elapsed wall time of the whole refresh
 */
public record RefreshJobResult(Map<Placement, RefreshResult> placements, long calibratedSequences,
    Duration elapsed) {

  public RefreshJobResult {
    Map<Placement, RefreshResult> copy = new EnumMap<>(Placement.class);
    copy.putAll(placements);
    placements = Collections.unmodifiableMap(copy);
    Objects.requireNonNull(elapsed, "elapsed");
  }

  /** Whether the gate rejected the candidate of any placement. */
  public boolean anyRejected() {
    return placements.values().stream()
        .anyMatch(r -> r.outcome() == RefreshResult.Outcome.REJECTED);
  }

  /** Whether no placement had anything new. */
  public boolean nothingNew() {
    return placements.values().stream()
        .allMatch(r -> r.outcome() == RefreshResult.Outcome.NOTHING_NEW);
  }
}
