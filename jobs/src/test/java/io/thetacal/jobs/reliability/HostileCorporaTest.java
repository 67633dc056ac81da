package io.thetacal.jobs.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.jobs.SharedSpark;
import io.thetacal.jobs.ThetacalJobs;
import io.thetacal.jobs.calibrate.CalibrateException;
import io.thetacal.jobs.calibrate.CalibrateResult;
import io.thetacal.jobs.cluster.StandaloneCluster;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.ingest.IngestException;
import io.thetacal.model.onnx.OnnxReader;
import io.thetacal.model.onnx.OnnxTensor;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile corpora through ingest and calibrate: each gives the documented behaviour (rejected with a
 * reason into {@code <out>/rejected/} and counted, or an error naming the file, column and what was
 * expected), and no JVM runs out of memory.
 */
@Tag("slow")
class HostileCorporaTest {
  @TempDir
  Path tmp;

  private static final String GOOD = "The committee adopted the report on fisheries after a short debate.";

  private static ThetacalConfig config(String corpora, String dataset, String... sets) {
    List<String> all = new ArrayList<>(List.of("model.max_sequence_length=32", "spark.partitions=3",
        "ingest.max_rejected_fraction=1.0", "calibration.k_grid=4,8", "calibration.holdout_sequences=0"));
    all.addAll(List.of(sets));
    return ConfigLoader.fromYaml("corpora:\n" + corpora + "calibration:\n  datasets: [" + dataset + "]\n",
        "test", all);
  }

  private static Map<String, Long> reasons(SparkSession spark, Path dir) {
    return spark.read().parquet(dir.toString()).collectAsList().stream()
        .collect(Collectors.groupingBy(r -> (String) r.getAs("reject_reason"), TreeMap::new, Collectors.counting()));
  }

  @Test
  void invalidUtf8AndATenMegabyteLineAreRejectedWithReasonsInAJvmOf768Megabytes() throws Exception {
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    text.writeBytes((GOOD + "\n").getBytes(StandardCharsets.UTF_8));
    text.writeBytes("Caf".getBytes(StandardCharsets.UTF_8));
    text.writeBytes(new byte[] {(byte) 0xC3, 0x28, (byte) 0xFF, ' ', 'o', 'k', '\n'});
    byte[] big = new byte[10 << 20];
    java.util.Arrays.fill(big, (byte) 'a');
    for (int i = 7; i < big.length; i += 8) {
      big[i] = ' ';
    }
    text.writeBytes(big);
    text.writeBytes(("\n" + GOOD.toUpperCase() + "\n").getBytes(StandardCharsets.UTF_8));
    Path file = Files.write(tmp.resolve("hostile.txt"), text.toByteArray());
    Path conf = Files.writeString(tmp.resolve("conf.yaml"), """
        model: {max_sequence_length: 32}
        corpora:
          - {name: hostile, source: {type: text, path: '%s'}}
        ingest: {max_rejected_fraction: 1.0}
        calibration: {datasets: [hostile]}
        spark: {partitions: 2}
        """.formatted(file));
    Path out = tmp.resolve("out");
    Path log = tmp.resolve("ingest.log");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(StandaloneCluster.moduleFlags());
    cmd.addAll(List.of("-Xmx768m", "-Dspark.master=local[2]", "-Dspark.ui.enabled=false",
        "-Dspark.driver.host=127.0.0.1", "-Dspark.driver.bindAddress=127.0.0.1", "-cp",
        System.getProperty("java.class.path"), "io.thetacal.jobs.cli.Thetacal", "ingest", "--conf", conf.toString(),
        "--out", out.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    Process p = pb.start();
    assertTrue(p.waitFor(6, TimeUnit.MINUTES), "ingest did not finish");
    String output = Files.readString(log);
    assertEquals(0, p.exitValue(), output);
    assertFalse(output.contains("OutOfMemoryError"), output);

    SparkSession spark = SharedSpark.get();
    Path rejected = out.resolve("rejected/ingest/dataset=hostile");
    assertEquals(Map.of("invalid_utf8", 1L, "text_too_long", 1L), reasons(spark, rejected));
    Row bad = spark.read().parquet(rejected.toString()).filter("reject_reason = 'invalid_utf8'").first();
    assertEquals("hostile.txt:" + (GOOD.length() + 1), bad.getAs("doc_id"));
    assertTrue(((String) bad.getAs("detail")).contains("byte offset 3"), (String) bad.getAs("detail"));
    assertEquals(2, spark.read().parquet(out.resolve("corpora/dataset=hostile").toString())
        .select("doc_id").distinct().count());
    String manifest = Files.readString(out.resolve("corpora/_manifests/hostile.json"));
    assertTrue(manifest.contains("\"rejected\":2") || manifest.contains("\"rejected\" : 2"), manifest);
  }

  @Test
  void emptyAndZeroRowParquetFilesAndWrongSchemasAreHandledOrNamed() throws Exception {
    SparkSession spark = SharedSpark.get();
    StructType schema = new StructType().add("id", DataTypes.StringType).add("body", DataTypes.StringType)
        .add("n", DataTypes.IntegerType);
    Path dir = tmp.resolve("pq");
    spark.createDataFrame(List.of(RowFactory.create("a", GOOD, 1), RowFactory.create("b", GOOD.toLowerCase(), 2)),
        schema).coalesce(1).write().parquet(dir.resolve("good").toString());
    spark.createDataFrame(List.<Row>of(), schema).coalesce(1).write().parquet(dir.resolve("zero").toString());
    Path merged = Files.createDirectories(tmp.resolve("merged"));
    int i = 0;
    for (String sub : List.of("good", "zero")) {
      try (var files = Files.list(dir.resolve(sub))) {
        for (Path f : files.filter(f -> f.toString().endsWith(".parquet")).toList()) {
          Files.copy(f, merged.resolve("part-" + (i++) + ".parquet"));
        }
      }
    }
    // zero-row files and empty partitions: the rows of the other files, nothing rejected
    ThetacalConfig ok = config("  - {name: pq, source: {type: parquet, path: '" + merged + "', text_field: body,"
        + " id_field: id}}\n", "pq");
    var r = ThetacalJobs.get(spark).ingest().config(ok).outputRoot(tmp.resolve("o1").toString()).execute();
    assertEquals(2, r.documents());
    assertEquals(0, r.rejected());

    // a 0-byte file among them is an empty partition: Spark skips it
    Files.write(merged.resolve("part-9.parquet"), new byte[0]);
    var r2 = ThetacalJobs.get(spark).ingest().config(ok).outputRoot(tmp.resolve("o2").toString()).execute();
    assertEquals(2, r2.documents());
    assertEquals(0, r2.rejected());
    // a file that is not Parquet at all: the error names it
    Files.writeString(merged.resolve("part-9.parquet"), "not parquet at all, just text");
    Exception e = assertThrows(Exception.class,
        () -> ThetacalJobs.get(spark).ingest().config(ok).outputRoot(tmp.resolve("o5").toString()).execute());
    assertTrue(chain(e).contains("part-9.parquet"), chain(e));
    Files.delete(merged.resolve("part-9.parquet"));

    ThetacalConfig missing = config("  - {name: pq, source: {type: parquet, path: '" + merged
        + "', text_field: text}}\n", "pq");
    IngestException m = assertThrows(IngestException.class,
        () -> ThetacalJobs.get(spark).ingest().config(missing).outputRoot(tmp.resolve("o3").toString()).execute());
    assertTrue(m.getMessage().contains("'text_field' names column 'text'") && m.getMessage().contains("[id, body, n]"),
        m.getMessage());
    ThetacalConfig wrongType = config("  - {name: pq, source: {type: parquet, path: '" + merged
        + "', text_field: n}}\n", "pq");
    IngestException w = assertThrows(IngestException.class,
        () -> ThetacalJobs.get(spark).ingest().config(wrongType).outputRoot(tmp.resolve("o4").toString()).execute());
    assertTrue(w.getMessage().contains("column 'n'") && w.getMessage().contains("must be a string column")
        && w.getMessage().contains("found int"), w.getMessage());
  }

  @Test
  void nullArraysAndIdsOutsideTheVocabularyAreRejectedByCalibrateAndCounted() throws Exception {
    SparkSession spark = SharedSpark.get();
    Path text = Files.writeString(tmp.resolve("t.txt"), String.join("\n", GOOD, GOOD.toUpperCase(),
        "Members asked the Commission to publish the figures before the summer.",
        "A final sentence about the budget and the fisheries report."));
    ThetacalConfig c = config("  - {name: h, source: {type: text, path: '" + text + "'}}\n", "h",
        "ingest.holdout_fraction=0.0");
    Path out = tmp.resolve("out");
    ThetacalJobs.get(spark).ingest().config(c).outputRoot(out.toString()).execute();
    Path ds = out.resolve("corpora/dataset=h");
    StructType schema = spark.read().parquet(ds.toString()).schema();
    List<Row> bad = List.of(
        RowFactory.create("x1", 0, null, 3, "fp", "calibration"),
        RowFactory.create("x2", 0, scala.jdk.javaapi.CollectionConverters.asScala(List.of(101, 999_999, 102)).toSeq(),
            3, "fp", "calibration"),
        RowFactory.create("x3", 0, scala.jdk.javaapi.CollectionConverters.asScala(List.of(101, -5, 102)).toSeq(),
            3, "fp", "calibration"));
    spark.createDataFrame(bad, schema).coalesce(1).write().mode("append").parquet(ds.toString());

    CalibrateException limit = assertThrows(CalibrateException.class, () -> ThetacalJobs.get(spark).calibrate()
        .config(c).outputRoot(out.toString()).version("v0").execute());
    assertTrue(limit.getMessage().contains("'calibration.max_rejected_fraction' = 0.05")
        && limit.getMessage().contains("3 of "), limit.getMessage());
    assertEquals(Map.of("null_input_ids", 1L, "token_out_of_vocabulary", 2L),
        reasons(spark, out.resolve("rejected/calibrate/run=v0")), "rows are quarantined before the job stops");

    ThetacalConfig lenient = config("  - {name: h, source: {type: text, path: '" + text + "'}}\n", "h",
        "ingest.holdout_fraction=0.0", "calibration.max_rejected_fraction=1.0");
    CalibrateResult r = ThetacalJobs.get(spark).calibrate().config(lenient).outputRoot(out.toString()).version("v1")
        .execute();
    assertEquals(3, r.rejected());
    assertEquals(Map.of("null_input_ids", 1L, "token_out_of_vocabulary", 2L),
        reasons(spark, out.resolve("rejected/calibrate/run=v1")));
    assertEquals(3, reasons(spark, out.resolve("rejected/calibrate/run=v0")).values().stream()
        .mapToLong(Long::longValue).sum(), "a later run keeps what an earlier one quarantined");
    assertTrue(Files.readString(Path.of(r.directories().values().iterator().next()).resolve("thresholds.json"))
        .contains("\"rejected_sequences\""));
  }

  @Test
  void aModelWithNanWeightsStopsCalibrateNamingTheLayerAndHead() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("broken-minilm"));
    Path onnx = dir.resolve("model.onnx");
    try (InputStream in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
      Files.copy(in, onnx);
    }
    try (InputStream in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
      Files.copy(in, dir.resolve("tokenizer.json"));
    }
    // layer 2's first attention projection (the export names it onnx::MatMul_911): every weight NaN
    OnnxTensor t = OnnxReader.read(onnx).initializers().get("onnx::MatMul_911");
    float[] w = t.toFloats();
    byte[] file = Files.readAllBytes(onnx);
    ByteBuffer probe = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 16; i++) {
      probe.putFloat(w[i]);
    }
    int at = indexOf(file, probe.array());
    assertTrue(at > 0, "weights of onnx::MatMul_911 not found in the file");
    ByteBuffer nan = ByteBuffer.wrap(file, at, w.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < w.length; i++) {
      nan.putFloat(Float.NaN);
    }
    Files.write(onnx, file);

    SparkSession spark = SharedSpark.get();
    Path text = Files.writeString(tmp.resolve("t.txt"), GOOD + "\n" + GOOD.toUpperCase() + "\n");
    // tokenized by the intact model (same tokenizer), then handed to calibrate as the broken model's corpus
    ThetacalConfig intact = config("  - {name: n, source: {type: text, path: '" + text + "'}}\n", "n",
        "ingest.holdout_fraction=0.0");
    Path out = tmp.resolve("out");
    ThetacalJobs.get(spark).ingest().config(intact).outputRoot(out.toString()).execute();
    Path manifest = out.resolve("corpora/_manifests/n.json");
    com.fasterxml.jackson.databind.node.ObjectNode m = (com.fasterxml.jackson.databind.node.ObjectNode)
        ConfigLoader.json().readTree(manifest.toFile());
    m.put("model_id", onnx.toString());
    ConfigLoader.json().writeValue(manifest.toFile(), m);
    ThetacalConfig c = config("  - {name: n, source: {type: text, path: '" + text + "'}}\n", "n",
        "model.id=" + onnx, "ingest.holdout_fraction=0.0");
    CalibrateException e = assertThrows(CalibrateException.class,
        () -> ThetacalJobs.get(spark).calibrate().config(c).outputRoot(out.toString()).version("v1").execute());
    assertTrue(e.getMessage().contains("layer 2, head "), e.getMessage());
    assertTrue(e.getMessage().contains("non-finite"), e.getMessage());
    assertFalse(Files.exists(out.resolve("thresholds/pre_softmax/v1")));
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i <= hay.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static String chain(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage()).append(" | ");
    }
    return sb.toString();
  }
}
