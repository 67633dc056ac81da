package io.thetacal.calibration;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The data a threshold version was calibrated on: per dataset, the set of corpus partitions (id →
 * content fingerprint) whose rows are in the version's state. Partitions are immutable once landed, so
 * the set, not a maximum id, is the watermark: a partition counts as new exactly when its id is absent,
 * whatever order partitions arrive in.
 *
 * @param datasets dataset name → (partition id → SHA-256 of its content), sorted
 */
public record Watermark(Map<String, SortedMap<String, String>> datasets) {
  public Watermark {
    TreeMap<String, SortedMap<String, String>> copy = new TreeMap<>();
    if (datasets != null) {
      datasets.forEach((d, parts) -> copy.put(d,
          Collections.unmodifiableSortedMap(new TreeMap<>(parts == null ? Map.of() : parts))));
    }
    datasets = Collections.unmodifiableSortedMap(copy);
  }

  public static Watermark empty() {
    return new Watermark(Map.of());
  }

  /** This watermark with the given partitions included. */
  public Watermark plus(List<CorpusPartition> partitions) {
    TreeMap<String, SortedMap<String, String>> next = new TreeMap<>();
    datasets.forEach((d, parts) -> next.put(d, new TreeMap<>(parts)));
    for (CorpusPartition p : partitions) {
      next.computeIfAbsent(p.dataset(), d -> new TreeMap<>()).put(p.id(), p.fingerprint());
    }
    return new Watermark(next);
  }

  /** Partitions included, over all datasets. */
  public int partitionCount() {
    return datasets.values().stream().mapToInt(Map::size).sum();
  }

  /** The fingerprint recorded for a partition, or null when the partition is not included. */
  public String fingerprint(String dataset, String id) {
    SortedMap<String, String> parts = datasets.get(dataset);
    return parts == null ? null : parts.get(id);
  }
}
