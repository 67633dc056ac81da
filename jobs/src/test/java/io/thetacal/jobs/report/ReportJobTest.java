package io.thetacal.jobs.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.thetacal.jobs.SharedSpark;
import io.thetacal.jobs.cli.Thetacal;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ConfigException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report on two small ingested datasets, each calibrated on its own, made by {@code thetacal run}. */
class ReportJobTest {
  @TempDir
  static Path tmp;

  private static SparkSession spark;
  private static Path out;
  private static String stdout;
  private static int exit;

  static final String CONF = """
      model: {max_sequence_length: 48, batch_size: 8}
      corpora:
        - {name: ep-en, source: {type: europarl, language: en, max_docs: 16}}
        - {name: ep-de, source: {type: europarl, language: de, max_docs: 16}}
      ingest: {holdout_fraction: 0.4}
      calibration: {datasets: [ep-en, ep-de], k_grid: [4, 8, 16], holdout_sequences: 0}
      report:
        ks: [4, 8]
        compensations: [none, sdc_exact_vmc, vmc]
        max_sequences: 6
      spark: {partitions: 2}
      """;

  @BeforeAll
  static void runEndToEnd() throws Exception {
    spark = SharedSpark.get();
    out = tmp.resolve("out");
    Path conf = tmp.resolve("small.yaml");
    Files.writeString(conf, CONF);
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    exit = Thetacal.run(new String[] {"run", "--conf", conf.toString(), "--out", out.toString(),
        "--version", "v1"}, new PrintStream(o, true, StandardCharsets.UTF_8),
        new PrintStream(e, true, StandardCharsets.UTF_8));
    stdout = o.toString(StandardCharsets.UTF_8) + e.toString(StandardCharsets.UTF_8);
  }

  @Test
  void runIngestsCalibratesEachDatasetAndPrintsWhereTheReportIs() {
    assertEquals(0, exit, stdout);
    for (String placement : List.of("pre_softmax", "post_softmax")) {
      for (String d : List.of("ep-en", "ep-de")) {
        assertTrue(Files.isRegularFile(out.resolve("thresholds").resolve(placement).resolve("v1-" + d)
            .resolve("_SUCCESS")), placement + " " + d);
      }
    }
    Path html = out.resolve("report").resolve("report.html");
    assertTrue(stdout.contains("report.html: " + html), stdout);
    assertTrue(Files.isRegularFile(html));
    assertTrue(Files.isRegularFile(out.resolve("report").resolve("report.json")));
  }

  @Test
  void reportHasOneRowPerCellOfTheGrid() {
    List<Row> rows = spark.read().parquet(out.resolve("report").resolve("report.parquet").toString())
        .collectAsList();
    // Top-θ: 2 calibration x 2 evaluation datasets x 2 k x (pre: 3 compensations + post: 2), top-k: 2 x 2.
    assertEquals(2 * 2 * 2 * 5 + 2 * 2, rows.size());
    Set<String> labels = new HashSet<>();
    for (Row r : rows) {
      labels.add(r.getAs("method") + "|" + r.getAs("calibration_dataset") + "|" + r.getAs("evaluation_dataset")
          + "|" + r.getAs("k") + "|" + r.getAs("placement") + "|" + r.getAs("compensation"));
    }
    assertEquals(rows.size(), labels.size(), "cells are distinct");
    assertTrue(labels.contains("top_theta|ep-en|ep-de|8|pre_softmax|sdc_exact_vmc"), labels.toString());
    assertTrue(labels.contains("top_theta|ep-de|ep-en|4|post_softmax|vmc"), labels.toString());
    assertTrue(labels.contains("top_k|null|ep-de|4|null|none"), labels.toString());
    assertFalse(labels.stream().anyMatch(l -> l.contains("post_softmax|sdc")), "SDC is pre-softmax only");
  }

  @Test
  void verdictsFollowTheConfiguredGatesOnTheMeasuredNumbers() {
    List<Row> rows = spark.read().parquet(out.resolve("report").resolve("report.parquet").toString())
        .collectAsList();
    int pass = 0;
    for (Row r : rows) {
      double mean = r.getAs("kept_over_k_mean");
      double loss = r.getAs("quality_loss");
      boolean topK = r.getAs("method").equals("top_k");
      boolean expected = (topK || Math.abs(mean - 1) <= 0.2) && loss <= 0.01;
      assertEquals(expected, (boolean) r.getAs("pass"), r.toString());
      if (topK) {
        assertEquals(1.0, mean, 1e-12, "top-k keeps exactly k: " + r);
      } else {
        assertEquals(r.getAs("cross_domain"), !r.getAs("calibration_dataset").equals(r.getAs("evaluation_dataset")));
        assertTrue(r.getAs("threshold_version") != null, r.toString());
      }
      double cos = r.getAs("mean_cosine");
      assertTrue(cos > 0.5 && cos <= 1.0 + 1e-9, r.toString());
      assertTrue(((String) r.getAs("reason")).length() > 0);
      pass += (boolean) r.getAs("pass") ? 1 : 0;
    }
    assertTrue(stdout.contains(rows.size() + " cells, " + pass + " pass all gates"), stdout);
  }

  @Test
  void everyCellCarriesThePerLayerAttentionOutputErrorAndItsMean() throws Exception {
    List<Row> rows = spark.read().parquet(out.resolve("report").resolve("report.parquet").toString())
        .collectAsList();
    for (Row r : rows) {
      List<Double> perLayer = r.getList(r.fieldIndex("attention_rel_error_per_layer"));
      assertEquals(6, perLayer.size(), "one per layer of all-MiniLM-L6-v2: " + r);
      for (double e : perLayer) {
        assertTrue(e >= 0 && e < 2, r.toString());
      }
      double mean = perLayer.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
      assertEquals(mean, (double) r.getAs("attention_rel_error"), 1e-12, r.toString());
      // every sequence has at least 16 tokens (ingest.chunking.min_tokens), more than k: every cell prunes
      assertTrue(mean > 0, r.toString());
    }
    JsonNode cell = new ObjectMapper().readTree(out.resolve("report").resolve("report.json").toFile())
        .path("cells").get(0);
    assertEquals(6, cell.path("attentionRelErrorPerLayer").size(), cell.toString());
    assertTrue(cell.path("attentionRelError").asDouble() > 0, cell.toString());
  }

  @Test
  void jsonAndHtmlCarryTheCellsAndCharts() throws Exception {
    JsonNode json = new ObjectMapper().readTree(out.resolve("report").resolve("report.json").toFile());
    assertEquals(44, json.path("cells").size());
    assertTrue(json.path("inputs").toString().contains("v1-ep-en"), json.path("inputs").toString());
    String html = Files.readString(out.resolve("report").resolve("report.html"));
    for (String id : List.of("heatmap-kept", "threshold-curves", "drift-ranking", "quality-sparsity",
        "compensation", "attention-error-layers")) {
      assertTrue(html.contains("id=\"" + id + "\""), id);
    }
    assertTrue(html.contains("ep-de"));
  }

  @Test
  void aKOutsideTheCalibratedGridIsRefusedNamingTheKey() {
    var c = ConfigLoader.fromYaml(CONF, "test", List.of("report.ks=4,32")).withOutputRoot(out.toString());
    var e = assertThrows(ConfigException.class, () -> new ReportJob(spark).config(c).execute());
    assertTrue(e.getMessage().contains("'report.ks[1]' is set to 32 but must be one of 'calibration.k_grid'"),
        e.getMessage());
  }

  @Test
  void anUnknownReportKeyIsRefusedNamingIt() {
    var e = assertThrows(ConfigException.class, () -> ConfigLoader.fromYaml(
        "report: {max_sequence: 3}", "test", List.of()));
    assertTrue(e.getMessage().contains("'report.max_sequence' is not a known key"), e.getMessage());
  }
}
