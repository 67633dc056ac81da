/**
 * Calibration statistics for Top-θ attention: the mergeable {@link io.thetacal.calibration.CalibrationState}
 * fed by the attention kernel's observer, the row-length buckets, the estimators that turn statistics
 * into thresholds, the {@link io.thetacal.calibration.ThresholdTable} the kernel looks thresholds up in,
 * a brute-force reference and the holdout check. Every accumulated value is an exact fixed-point integer,
 * so results are bitwise identical whatever the partitioning and merge order (docs/calibration.md).
 */
package io.thetacal.calibration;
