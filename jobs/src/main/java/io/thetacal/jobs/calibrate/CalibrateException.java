package io.thetacal.jobs.calibrate;

/** Calibration stopped: no input, a model/corpus mismatch, or a broken model (non-finite scores). */
public class CalibrateException extends RuntimeException {
  public CalibrateException(String message) {
    super(message);
  }

  public CalibrateException(String message, Throwable cause) {
    super(message, cause);
  }
}
