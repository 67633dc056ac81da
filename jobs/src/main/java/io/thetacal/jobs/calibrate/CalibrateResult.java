package io.thetacal.jobs.calibrate;

import io.thetacal.calibration.DepthCorrection;
import io.thetacal.calibration.HoldoutCheck;
import io.thetacal.attention.Placement;
import java.time.Duration;
import java.util.Map;

/**
 * The outcome of {@code thetacal calibrate}.
 *
 * @param version the published threshold version
 * @param directories the published version directory per placement
 * @param modelId model id or path
 * @param modelContentHash SHA-256 of the model's weights
 * @param sequences calibration sequences run through the model
 * @param tokens tokens in those sequences
 * @param rejected sequences set aside (written to {@code <out>/rejected/calibrate/run=<version>/})
 * @param rowsObserved attention rows captured (all layers and heads)
 * @param stateBytes size of the merged calibration state
 * @param calibratedCells (layer, head, bucket, k) cells with at least one row, per placement
 * @param holdout the in-domain check per placement (absent when skipped)
 * @param depthCorrection the depth correction applied per placement (absent when
 *     {@code calibration.depth_correction_sequences} is 0)
 * @param elapsed wall time of the job
 * @param timings where that time went: capture, driver-side merge and threshold derivation, model loads
 */
public record CalibrateResult(
    String version,
    Map<Placement, String> directories,
    String modelId,
    String modelContentHash,
    long sequences,
    long tokens,
    long rejected,
    long rowsObserved,
    long stateBytes,
    Map<Placement, Long> calibratedCells,
    Map<Placement, HoldoutCheck.Result> holdout,
    Map<Placement, DepthCorrection> depthCorrection,
    Duration elapsed,
    CalibrateTimings timings) {

  public CalibrateResult {
    directories = Map.copyOf(directories);
    calibratedCells = Map.copyOf(calibratedCells);
    holdout = Map.copyOf(holdout);
    depthCorrection = Map.copyOf(depthCorrection);
    java.util.Objects.requireNonNull(timings, "timings");
  }

  /** The driver-side merge and threshold derivation as a fraction of the whole job's wall time. */
  public double driverShare() {
    return (double) timings.driverSide().toNanos() / Math.max(elapsed.toNanos(), 1);
  }

  /** Tokens per second of wall time. */
  public double tokensPerSecond() {
    return tokens / Math.max(elapsed.toMillis() / 1000.0, 1e-3);
  }
}
