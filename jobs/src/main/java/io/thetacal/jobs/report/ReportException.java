package io.thetacal.jobs.report;

/** The report cannot run on the given output root (missing thresholds or datasets, wrong model). */
public final class ReportException extends RuntimeException {
  public ReportException(String message) {
    super(message);
  }
}
