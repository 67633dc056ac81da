package io.thetacal.calibration;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One immutable unit of a corpus dataset as it lands (a Parquet file or a partition directory such as
 * {@code date=2026-11-23/}), identified by its path relative to the dataset root and fingerprinted by
 * the SHA-256 of its content. A refresh calibrates each partition once.
 *
 * @param dataset the dataset name, as configured
 * @param id the partition's path relative to the dataset root, '/'-separated
 * @param fingerprint SHA-256 (64 lowercase hex digits) of the partition's content
 */
public record CorpusPartition(String dataset, String id, String fingerprint) {
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  public CorpusPartition {
    Objects.requireNonNull(dataset, "'dataset' must be set");
    Objects.requireNonNull(id, "'id' must be set");
    if (dataset.isBlank() || id.isBlank()) {
      throw new IllegalArgumentException("a corpus partition needs a dataset and an id, got '"
          + dataset + "' / '" + id + "'");
    }
    if (fingerprint == null || !SHA256.matcher(fingerprint).matches()) {
      throw new IllegalArgumentException("partition '" + id + "' of dataset '" + dataset
          + "' has fingerprint " + fingerprint + " but it must be a SHA-256 of 64 lowercase hex digits");
    }
  }
}
