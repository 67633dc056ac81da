package io.thetacal.jobs.config;

/**
 * How a job uses Spark.
 *
 * @param partitions partitions the sequences are spread over (best a multiple of the executor cores in use:
 *     calibrate balances them by tokens, so each core then gets the same share)
 * @param progressIntervalSeconds how often the driver logs progress
 */
public record SparkSettings(int partitions, int progressIntervalSeconds) {
  void validate(String key, Problems p) {
    p.positive(key + ".partitions", partitions);
    p.positive(key + ".progress_interval_seconds", progressIntervalSeconds);
  }
}
