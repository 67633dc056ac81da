package io.thetacal.jobs.ingest;

import java.util.Map;
import java.util.TreeMap;

/**
 * What ingest produced for one dataset.
 *
 * @param name dataset name
 * @param fingerprint SHA-256 (hex) of the source bytes
 * @param origin where the source bytes came from
 * @param documents documents read (accepted + rejected)
 * @param rejected documents rejected (written to {@code <out>/rejected/ingest/})
 * @param rejectedByReason rejected documents per reason
 * @param sequences sequences written
 * @param tokens tokens in those sequences
 * @param calibrationSequences sequences in the calibration split
 * @param holdoutSequences sequences in the holdout split
 * @param undetected Europarl lines left out because their language could not be told
 */
public record DatasetIngestResult(
    String name,
    String fingerprint,
    String origin,
    long documents,
    long rejected,
    Map<String, Long> rejectedByReason,
    long sequences,
    long tokens,
    long calibrationSequences,
    long holdoutSequences,
    long undetected) {

  public DatasetIngestResult {
    rejectedByReason = Map.copyOf(new TreeMap<>(rejectedByReason));
  }

  /** rejected / documents (0 for a dataset without documents). */
  public double rejectedFraction() {
    return documents == 0 ? 0 : rejected / (double) documents;
  }
}
