package io.thetacal.jobs.ingest;

import java.time.Duration;
import java.util.List;

/**
 * The outcome of {@code thetacal ingest}.
 *
 * @param corporaPath where the calibration datasets were written ({@code <out>/corpora})
 * @param rejectedPath where rejected documents were written ({@code <out>/rejected/ingest})
 * @param datasets per-dataset counts and fingerprints, in configuration order
 * @param elapsed wall time of the job
 */
public record IngestResult(String corporaPath, String rejectedPath, List<DatasetIngestResult> datasets,
    Duration elapsed) {

  public IngestResult {
    datasets = List.copyOf(datasets);
  }

  public long documents() {
    return datasets.stream().mapToLong(DatasetIngestResult::documents).sum();
  }

  public long sequences() {
    return datasets.stream().mapToLong(DatasetIngestResult::sequences).sum();
  }

  public long tokens() {
    return datasets.stream().mapToLong(DatasetIngestResult::tokens).sum();
  }

  public long rejected() {
    return datasets.stream().mapToLong(DatasetIngestResult::rejected).sum();
  }

  /** The result for one dataset. */
  public DatasetIngestResult dataset(String name) {
    return datasets.stream().filter(d -> d.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("No dataset '" + name + "' in this result"));
  }
}
