package io.thetacal.jobs.spark;

import io.thetacal.calibration.DepthCorrection;
import io.thetacal.calibration.ThresholdTable;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * Fits a {@link DepthCorrection} with the sample's batches measured on the executors, one task per batch,
 * each with the executor JVM's cached model, so that the fit's forward passes scale with the cluster
 * instead of running on the driver. The result equals the driver-side fit bit for bit: the batches are the
 * same and their margin counts add exactly in any order.
 */
public final class SparkDepthCorrection {

  private SparkDepthCorrection() {
  }

  /** The correction of a table, fitted on the sample (token ids) with the model named by modelId. */
  public static DepthCorrection fit(SparkSession spark, String modelId, ThresholdTable table,
      List<int[]> sample, String job) {
    List<List<int[]>> batches = DepthCorrection.batches(sample);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    String placement = table.placement().name().toLowerCase(Locale.ROOT);
    try {
      return DepthCorrection.fit(table, sample.size(), shifted -> JobSupport.withJobGroup(spark,
          "thetacal-" + job + "-depth-correction", job + ": depth correction of the " + placement
              + " thresholds on " + sample.size() + " sequences",
          () -> jsc.parallelize(batches, Math.max(1, batches.size()))
              .map(batch -> DepthCorrection.Margins.measure(ExecutorModels.model(modelId), shifted, batch))
              .reduce(DepthCorrection.Margins::merge)));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
