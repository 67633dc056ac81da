package io.thetacal.jobs.spark;

import io.thetacal.attention.AttentionStats;
import io.thetacal.calibration.DepthCorrection;
import io.thetacal.calibration.HoldoutCheck;
import io.thetacal.calibration.ThresholdTable;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * Forward passes over a fixed sample of sequences that calibrate runs after the capture (the depth
 * correction's fit, the holdout check), run on the executors: one Spark task per batch of
 * {@value DepthCorrection#BATCH} sequences with the executor JVM's cached model, so that they scale with
 * the cluster instead of loading the driver. Each task returns its batch's integer counts, which add
 * exactly in any order, so the results equal the driver-side ones bit for bit.
 */
public final class SamplePasses {

  private SamplePasses() {
  }

  /** The depth correction of a table, fitted on the sample (token ids) with the model named by modelId. */
  public static DepthCorrection depthCorrection(SparkSession spark, String modelId, ThresholdTable table,
      List<int[]> sample, String job) {
    List<List<int[]>> batches = DepthCorrection.batches(sample);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    try {
      return DepthCorrection.fit(table, sample.size(), shifted -> JobSupport.withJobGroup(spark,
          "thetacal-" + job + "-depth-correction", job + ": depth correction of the " + name(table)
              + " thresholds on " + sample.size() + " sequences",
          () -> jsc.parallelize(batches, Math.max(1, batches.size()))
              .map(batch -> DepthCorrection.Margins.measure(ExecutorModels.model(modelId), shifted, batch))
              .reduce(DepthCorrection.Margins::merge)));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The holdout check of a table on held-out sequences (token ids), with the model named by modelId. */
  public static HoldoutCheck.Result holdoutCheck(SparkSession spark, String modelId, ThresholdTable table,
      List<int[]> holdout, String job) {
    List<List<int[]>> batches = DepthCorrection.batches(holdout);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Map<Integer, AttentionStats> byK = JobSupport.withJobGroup(spark, "thetacal-" + job + "-holdout-check",
        job + ": holdout check of the " + name(table) + " thresholds on " + holdout.size() + " sequences",
        () -> jsc.parallelize(batches, Math.max(1, batches.size()))
            .map(batch -> HoldoutCheck.measure(ExecutorModels.model(modelId), table, batch))
            .reduce(HoldoutCheck::merge));
    return HoldoutCheck.evaluate(byK);
  }

  private static String name(ThresholdTable table) {
    return table.placement().name().toLowerCase(Locale.ROOT);
  }
}
