package io.thetacal.jobs.calibrate;

import java.time.Duration;
import java.util.Objects;

/**
 * Where the time of one {@code thetacal calibrate} went, measured inside the job, so that scaling can be
 * judged against the parts that do not scale with executors.
 *
 * @param capture wall time of the capture job: executors running every batch through the model, the tree
 *     merge of partition states, and the driver's final merge
 * @param driverMerge driver time deserializing and merging the partial states that reach it, and
 *     deserializing the merged state
 * @param thresholds driver time deriving the threshold tables from the merged state (all placements)
 * @param modelLoad task time spent obtaining the model (load and warm-up in executor JVMs that did not hold
 *     it yet; zero where it was cached), summed over tasks
 * @param partitions partitions the batches were spread over
 * @param maxPartitionTokens tokens in the largest partition
 * @param minPartitionTokens tokens in the smallest partition
 * @param depthCorrection wall time fitting the depth correction (all placements; Spark jobs whose tasks run
 *     the sample's batches on the executors)
 * @param holdoutCheck wall time of the holdout check (all placements; Spark jobs whose tasks run the held-out
 *     batches on the executors)
 */
public record CalibrateTimings(
    Duration capture,
    Duration driverMerge,
    Duration thresholds,
    Duration modelLoad,
    int partitions,
    long maxPartitionTokens,
    long minPartitionTokens,
    Duration depthCorrection,
    Duration holdoutCheck) {

  public CalibrateTimings {
    Objects.requireNonNull(capture, "capture");
    Objects.requireNonNull(driverMerge, "driverMerge");
    Objects.requireNonNull(thresholds, "thresholds");
    Objects.requireNonNull(modelLoad, "modelLoad");
    Objects.requireNonNull(depthCorrection, "depthCorrection");
    Objects.requireNonNull(holdoutCheck, "holdoutCheck");
  }

  /** Driver-side merge and threshold derivation together. */
  public Duration driverSide() {
    return driverMerge.plus(thresholds);
  }
}
