package io.thetacal.jobs.calibrate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.DepthCorrection;
import io.thetacal.calibration.EstimatorKind;
import io.thetacal.calibration.Estimators;
import io.thetacal.calibration.HoldoutCheck;
import io.thetacal.calibration.ReferenceCalibrator;
import io.thetacal.calibration.ThresholdCell;
import io.thetacal.calibration.ThresholdTable;
import io.thetacal.io.StateFiles;
import io.thetacal.io.ThresholdManifest;
import io.thetacal.io.VersionedDirectory;
import io.thetacal.jobs.SharedSpark;
import io.thetacal.jobs.ThetacalJobs;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.spark.ExecutorModels;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.TransformerModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CalibrateJobTest {
  @TempDir
  static Path tmp;

  private static SparkSession spark;
  private static String root;

  private static final String CONF = """
      model: {max_sequence_length: 48, batch_size: 8}
      corpora:
        - {name: ep-en, source: {type: europarl, language: en, max_docs: 12}}
      calibration: {datasets: [ep-en], k_grid: [4, 8, 16], holdout_sequences: 8, top_k_at_calibration: false}
      """;

  static ThetacalConfig config(String... sets) {
    return ConfigLoader.fromYaml(CONF, "test", List.of(sets));
  }

  @BeforeAll
  static void ingest() {
    spark = SharedSpark.get();
    root = tmp.resolve("out").toString();
    ThetacalJobs.get(spark).ingest().config(config()).outputRoot(root).execute();
  }

  @Test
  void thresholdsAreBitwiseIdenticalForAnyPartitioningAndMatchTheBruteForceReference() throws Exception {
    CalibrateResult one = ThetacalJobs.get(spark).calibrate().config(config("spark.partitions=1"))
        .outputRoot(root).version("p1").execute();
    CalibrateResult five = ThetacalJobs.get(spark).calibrate().config(config("spark.partitions=5"))
        .outputRoot(root).version("p5").execute();
    assertTrue(one.sequences() > 20, "sequences: " + one.sequences());
    assertEquals(one.sequences(), five.sequences());
    for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
      Path a = Path.of(one.directories().get(p));
      Path b = Path.of(five.directories().get(p));
      assertArrayEquals(Files.readAllBytes(a.resolve("state.bin")), Files.readAllBytes(b.resolve("state.bin")));
      assertEquals(rows(a.resolve("thresholds.parquet")), rows(b.resolve("thresholds.parquet")));
      assertTrue(Files.exists(a.resolve(VersionedDirectory.SUCCESS)));
      ThresholdManifest m = ThresholdManifest.read(a.resolve("thresholds.json"));
      assertEquals(one.sequences(), m.counts().other().get("sequences"));
      assertEquals(p, m.placement());
      assertTrue(m.provenance().corpusFingerprints().containsKey("ep-en"));
    }

    // Brute force: every row of the same sequences materialised on the driver.
    TransformerModel model = ExecutorModels.model("all-minilm-l6-v2");
    CalibrationConfig cc = CalibrateJob.calibrationConfig(config().calibration(), model.info().family());
    CalibrationGeometry geometry = CalibrationGeometry.of(model.info());
    ReferenceCalibrator reference = new ReferenceCalibrator(geometry, cc);
    // The same fixed batches as the job: per partition file, (length, seeded hash) order cut every
    // batch_size sequences.
    List<Row> ordered = spark.read().parquet(root + "/corpora")
        .selectExpr("*", "concat_ws('/', dataset, _metadata.file_name) as file").filter("split = 'calibration'")
        .selectExpr("file", "input_ids", "n_tokens", "sha2(concat_ws('#', " + config().ingest().seed()
            + ", dataset, doc_id, seq_id), 256) as order_key")
        .orderBy("file", "n_tokens", "order_key").collectAsList();
    int batchSize = config().model().batchSize();
    List<int[]> batch = new ArrayList<>();
    for (int i = 0; i < ordered.size(); i++) {
      batch.add(ordered.get(i).getList(1).stream().mapToInt(x -> (Integer) x).toArray());
      if (batch.size() == batchSize || i + 1 == ordered.size()
          || !ordered.get(i + 1).getString(0).equals(ordered.get(i).getString(0))) {
        model.forward(new ForwardRequest(batch, io.thetacal.attention.AttentionMode.dense(), reference, false,
            false));
        batch = new ArrayList<>();
      }
    }
    CalibrationState state = StateFiles.read(Path.of(one.directories().get(Placement.PRE_SOFTMAX)).resolve("state.bin"));
    for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
      assertEquals(reference.toTable(p), ThresholdTable.from(state, p, Estimators.meanStd(cc.sigmaAdd())),
          p.toString());
      assertEquals(reference.toTable(p, EstimatorKind.HISTOGRAM_QUANTILE),
          ThresholdTable.from(state, p, cc.estimatorInstance()), p + " kept-count matching");
    }

    // Published (fitted by Spark tasks): the state's thresholds shifted by the depth correction, the same
    // as fitted here on the driver on the first calibration sequences by the seeded key
    int sampleSize = CalibrateJob.depthCorrectionSampleSize(config().calibration());
    assertEquals(32, sampleSize);
    List<int[]> sample = spark.read().parquet(root + "/corpora").filter("split = 'calibration'")
        .selectExpr("input_ids", "sha2(concat_ws('#', " + config().ingest().seed()
            + ", dataset, doc_id, seq_id), 256) as order_key")
        .orderBy("order_key").limit(sampleSize).collectAsList().stream()
        .map(r -> r.getList(0).stream().mapToInt(x -> (Integer) x).toArray()).toList();
    for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
      ThresholdTable derived = ThresholdTable.from(state, p, cc.estimatorInstance());
      DepthCorrection correction = DepthCorrection.fit(model, derived, sample);
      ThresholdTable published = ThresholdManifest.read(Path.of(one.directories().get(p))
          .resolve("thresholds.json")).toTable();
      assertEquals(correction, ThresholdManifest.read(Path.of(one.directories().get(p))
          .resolve("thresholds.json")).depthCorrection(), p.toString());
      ThresholdTable expected = correction.apply(derived);
      int shifted = 0;
      for (ThresholdCell c : expected.cells()) {
        int ki = expected.kIndex(c.k());
        assertEquals(c.theta(), published.cellTheta(c.layer(), c.head(), c.bucket(), ki), p + " " + c);
        shifted += c.theta() != derived.cellTheta(c.layer(), c.head(), c.bucket(), ki) ? 1 : 0;
      }
      assertTrue(shifted > 0, p + ": the correction shifted no threshold");
    }

    // histograms.parquet: one row per non-empty (layer, head, bucket) of the state, the same in every version
    long cells = 0;
    for (int l = 0; l < geometry.numLayers(); l++) {
      for (int h = 0; h < geometry.numHeads(); h++) {
        for (int b = 0; b < state.rowLengthIndex().numBuckets(); b++) {
          cells += state.histogramRows(l, h, b) > 0 ? 1 : 0;
        }
      }
    }
    List<String> histograms = rows(Path.of(one.directories().get(Placement.PRE_SOFTMAX)).resolve("histograms.parquet"));
    assertEquals(cells, histograms.size());
    assertTrue(cells > 0);
    for (CalibrateResult r : List.of(one, five)) {
      for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
        assertEquals(histograms, rows(Path.of(r.directories().get(p)).resolve("histograms.parquet")), p.toString());
      }
    }
  }

  @Test
  void topKAtCalibrationLeavesTheFirstLayerAsDenseAndChangesDeeperLayersReproducibly() throws Exception {
    CalibrateResult dense = ThetacalJobs.get(spark).calibrate()
        .config(config("calibration.placements=pre_softmax")).outputRoot(root).version("dense").execute();
    CalibrateResult tac1 = ThetacalJobs.get(spark).calibrate().config(config(
        "calibration.placements=pre_softmax", "calibration.top_k_at_calibration=true",
        "spark.partitions=1")).outputRoot(root).version("tac1").execute();
    CalibrateResult tac3 = ThetacalJobs.get(spark).calibrate().config(config(
        "calibration.placements=pre_softmax", "calibration.top_k_at_calibration=true",
        "spark.partitions=3")).outputRoot(root).version("tac3").execute();
    Path d = Path.of(dense.directories().get(Placement.PRE_SOFTMAX)).resolve("state.bin");
    Path t1 = Path.of(tac1.directories().get(Placement.PRE_SOFTMAX)).resolve("state.bin");
    Path t3 = Path.of(tac3.directories().get(Placement.PRE_SOFTMAX)).resolve("state.bin");
    assertArrayEquals(Files.readAllBytes(t1), Files.readAllBytes(t3));
    CalibrationState ds = StateFiles.read(d);
    CalibrationState ts = StateFiles.read(t1);
    assertEquals(ds.rowsObserved(), ts.rowsObserved(), "each row is counted once, not once per k");
    int[] ks = ds.kGrid();
    boolean deeperDiffers = false;
    boolean histogramsDiffer = false;
    for (int h = 0; h < ds.geometry().numHeads(); h++) {
      for (int b = 0; b < ds.rowLengthIndex().numBuckets(); b++) {
        for (int ki = 0; ki < ks.length; ki++) {
          // Layer 0 sees the embeddings, whatever the attention mode: its statistics are the dense ones.
          assertEquals(ds.moments(Placement.PRE_SOFTMAX, 0, h, b, ki),
              ts.moments(Placement.PRE_SOFTMAX, 0, h, b, ki));
          int last = ds.geometry().numLayers() - 1;
          deeperDiffers |= !ds.moments(Placement.PRE_SOFTMAX, last, h, b, ki)
              .equals(ts.moments(Placement.PRE_SOFTMAX, last, h, b, ki));
          // each k's histogram comes from its own pass; layer 0's is the dense one
          assertEquals(ds.histogram(0, h, b), ts.histogram(0, h, b, ki));
          assertEquals(ds.histogramRows(0, h, b), ts.histogramRows(0, h, b, ki));
          histogramsDiffer |= !ds.histogram(last, h, b).equals(ts.histogram(last, h, b, ki));
        }
      }
    }
    assertTrue(deeperDiffers, "top-k at calibration must change the statistics of deeper layers");
    assertTrue(histogramsDiffer, "top-k at calibration must change the histograms of deeper layers");
    assertTrue(ts.config().histogramsPerK() && !ds.config().histogramsPerK());
  }

  @Test
  void holdoutCheckIsRecorded() throws Exception {
    CalibrateResult r = ThetacalJobs.get(spark).calibrate().config(config()).outputRoot(root).version("h")
        .execute();
    var check = r.holdout().get(Placement.PRE_SOFTMAX);
    assertTrue(check != null && !check.entries().isEmpty());
    // measured by Spark tasks, one per batch: the same as measuring the batches of the first holdout
    // sequences by the seeded key on the driver with the published thresholds
    List<int[]> held = spark.read().parquet(root + "/corpora").filter("split = 'holdout'")
        .selectExpr("input_ids", "sha2(concat_ws('#', " + config().ingest().seed()
            + ", dataset, doc_id, seq_id), 256) as order_key")
        .orderBy("order_key").limit(8).collectAsList().stream()
        .map(row -> row.getList(0).stream().mapToInt(x -> (Integer) x).toArray()).toList();
    ThresholdTable published = ThresholdManifest.read(Path.of(r.directories().get(Placement.PRE_SOFTMAX))
        .resolve("thresholds.json")).toTable();
    TransformerModel model = ExecutorModels.model("all-minilm-l6-v2");
    java.util.Map<Integer, io.thetacal.attention.AttentionStats> byK = null;
    for (List<int[]> batch : DepthCorrection.batches(held)) {
      var m = HoldoutCheck.measure(model, published, batch);
      byK = byK == null ? m : HoldoutCheck.merge(byK, m);
    }
    assertEquals(HoldoutCheck.evaluate(byK), check);
    assertTrue(r.stateBytes() > 0 && r.rowsObserved() > 0);
    assertEquals(java.util.Set.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX), r.depthCorrection().keySet());
    assertEquals(32, r.depthCorrection().get(Placement.PRE_SOFTMAX).sequences());
    assertTrue(r.timings().holdoutCheck().toNanos() > 0 && r.timings().depthCorrection().toNanos() > 0,
        r.timings().toString());
  }

  @Test
  void driverSideMergeAndThresholdTimesAreMeasuredInsideTheJob() throws Exception {
    CalibrateResult r = ThetacalJobs.get(spark).calibrate().config(config("spark.partitions=4",
        "calibration.holdout_sequences=0")).outputRoot(root).version("timed").execute();
    CalibrateTimings t = r.timings();
    assertEquals(4, t.partitions());
    assertTrue(t.driverMerge().toNanos() > 0 && t.thresholds().toNanos() > 0, t.toString());
    assertTrue(t.driverMerge().compareTo(t.capture()) < 0, t.toString());
    assertTrue(t.capture().plus(t.thresholds()).compareTo(r.elapsed()) <= 0, t + " in " + r.elapsed());
    assertTrue(r.driverShare() > 0 && r.driverShare() < 1, "share " + r.driverShare());
    assertEquals(java.time.Duration.ZERO, t.holdoutCheck(), "the holdout check is off");
    CalibrateResult uncorrected = ThetacalJobs.get(spark).calibrate().config(config("spark.partitions=4",
        "calibration.holdout_sequences=0", "calibration.depth_correction_sequences=0")).outputRoot(root)
        .version("uncorrected").execute();
    assertTrue(uncorrected.depthCorrection().isEmpty());
    assertTrue(ThresholdManifest.read(Path.of(uncorrected.directories().get(Placement.PRE_SOFTMAX))
        .resolve("thresholds.json")).depthCorrection() == null);
    // balanced by tokens: partitions differ by at most one batch of 8 sequences of <= 48 tokens
    assertTrue(t.maxPartitionTokens() - t.minPartitionTokens() <= 8 * 48, t.toString());
    assertTrue(t.minPartitionTokens() * 4 <= r.tokens() && t.maxPartitionTokens() * 4 >= r.tokens(), t.toString());
  }

  @Test
  void missingDatasetNamesTheIngestStep() {
    CalibrateException e = assertThrows(CalibrateException.class, () -> ThetacalJobs.get(spark).calibrate()
        .config(config()).outputRoot(tmp.resolve("empty").toString()).version("x").execute());
    assertTrue(e.getMessage().contains("run 'thetacal ingest' first"), e.getMessage());
  }

  private static List<String> rows(Path parquet) {
    return spark.read().parquet(parquet.toString()).collectAsList().stream().map(Row::toString).sorted().toList();
  }
}
