package io.thetacal.jobs;

import io.thetacal.jobs.calibrate.CalibrateJob;
import io.thetacal.jobs.ingest.IngestJob;
import io.thetacal.jobs.inspect.InspectJob;
import io.thetacal.jobs.report.ReportJob;
import org.apache.spark.sql.SparkSession;

/** The one entry point to thetacal's Spark jobs: each returns a fluent job whose execute() yields a result. */
public final class ThetacalJobs {
  private final SparkSession spark;

  private ThetacalJobs(SparkSession spark) {
    this.spark = spark;
  }

  public static ThetacalJobs get(SparkSession spark) {
    return new ThetacalJobs(spark);
  }

  /** Raw sources to Parquet calibration datasets. */
  public IngestJob ingest() {
    return new IngestJob(spark);
  }

  /** Calibration datasets to Top-θ thresholds. */
  public CalibrateJob calibrate() {
    return new CalibrateJob(spark);
  }

  /** One input through a model, attention scores and probabilities as Parquet. */
  public InspectJob inspect() {
    return new InspectJob(spark);
  }

  /** Published thresholds and holdout datasets to a robustness report. */
  public ReportJob report() {
    return new ReportJob(spark);
  }
}
