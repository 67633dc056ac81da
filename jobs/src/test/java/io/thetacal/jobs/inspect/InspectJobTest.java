package io.thetacal.jobs.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.jobs.SharedSpark;
import io.thetacal.jobs.ThetacalJobs;
import io.thetacal.jobs.config.ConfigException;
import java.nio.file.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectJobTest {
  @TempDir
  Path tmp;

  @Test
  void writesOneRowPerLayerHeadRowAndColumnWithRowsSummingToOne() {
    SparkSession spark = SharedSpark.get();
    Path out = tmp.resolve("att.parquet");
    InspectResult r = ThetacalJobs.get(spark).inspect().model("all-minilm-l6-v2")
        .text("Top theta attention prunes by threshold.").output(out).execute();
    int n = r.tokens().length;
    assertEquals(6L * 12 * n * n, r.rows());
    Dataset<Row> rows = spark.read().parquet(out.toString());
    assertEquals(r.rows(), rows.count());
    Row worst = rows.groupBy("layer", "head", "row").agg(
        org.apache.spark.sql.functions.abs(org.apache.spark.sql.functions.sum("probability")
            .minus(1)).as("err")).orderBy(org.apache.spark.sql.functions.desc("err")).first();
    assertTrue(worst.getDouble(3) < 1e-6, "probabilities of a row sum to 1: " + worst);
    // The same input as token ids gives the same scores.
    Path out2 = tmp.resolve("att2.parquet");
    ThetacalJobs.get(spark).inspect().model("all-minilm-l6-v2").tokens(r.tokens()).output(out2).execute();
    assertEquals(0, rows.except(spark.read().parquet(out2.toString())).count());
  }

  @Test
  void tokenOutsideTheVocabularyIsNamed() {
    ConfigException e = assertThrows(ConfigException.class, () -> ThetacalJobs.get(SharedSpark.get()).inspect()
        .model("all-minilm-l6-v2").tokens(new int[] {101, 999999, 102}).output(tmp.resolve("x.parquet"))
        .execute());
    assertTrue(e.getMessage().contains("'--tokens[1]' is set to 999999 but must be in [0, 30522)"), e.getMessage());
  }

  @Test
  void logitsOfAnEncoderAreRefused() {
    ConfigException e = assertThrows(ConfigException.class, () -> ThetacalJobs.get(SharedSpark.get()).inspect()
        .model("all-minilm-l6-v2").text("x").output(tmp.resolve("x.parquet"))
        .logitsOutput(tmp.resolve("l.bin")).execute());
    assertTrue(e.getMessage().contains("has no logits"), e.getMessage());
  }
}
