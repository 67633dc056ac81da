package io.thetacal.jobs.refresh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.io.RefreshResult;
import io.thetacal.io.ThresholdStore;
import io.thetacal.jobs.SharedSpark;
import io.thetacal.jobs.calibrate.CalibrateException;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.spark.ExecutorModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rows of newly landed partitions that the model cannot take (too long, an id outside the vocabulary,
 * empty) are quarantined by a refresh as calibrate quarantines them: written with their reason under
 * {@code <out>/rejected/refresh/run=<name>/}, counted in the published version's manifest, never
 * overwriting what an earlier run wrote; the other rows are refreshed, and too large a rejected share stops
 * the refresh naming the share and {@code calibration.max_rejected_fraction}.
 */
class RefreshRejectedRowsTest {
  @TempDir
  Path tmp;

  private static final StructType SCHEMA = new StructType()
      .add("doc_id", DataTypes.StringType, false)
      .add("seq_id", DataTypes.IntegerType, false)
      .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, true), true)
      .add("split", DataTypes.StringType, true);

  private static final List<String> TEXTS = List.of(
      "The committee adopted the report on fisheries after a short debate.",
      "Members asked the Commission to publish the figures before the summer.",
      "A final sentence about the budget and the regional development funds.",
      "The rapporteur thanked the shadow rapporteurs for their cooperation.",
      "Several amendments concerned the protection of consumers in cross-border sales.",
      "The vote on the resolution will take place tomorrow at noon.",
      "Farmers in the southern regions were hit hard by the drought this year.",
      "The President reminded the House of the rules on speaking time.",
      "Transport safety remains a priority for the coming legislative period.",
      "The Council has not yet adopted its position on the proposal.");

  private ThetacalConfig config(Path out, Path landed, double maxRejected) {
    return ConfigLoader.fromYaml("""
        model: {max_sequence_length: 40, batch_size: 8}
        corpora:
          - {name: ep-en, source: {type: europarl, language: en, max_docs: 10}}
        calibration: {datasets: [ep-en], k_grid: [4, 8], holdout_sequences: 0}
        refresh:
          datasets: [landed]
          roots: {landed: '%s'}
          gate_k: 4
          placements: [pre_softmax]
        report: {gates: {max_kept_deviation: 5.0, max_quality_loss: 1.0}}
        spark: {partitions: 2}
        output: {root: '%s'}
        """.formatted(landed, out), "test", List.of("calibration.max_rejected_fraction=" + maxRejected));
  }

  private static Row row(String doc, String split, List<Integer> ids) {
    return RowFactory.create(doc, 0, ids == null ? null
        : scala.jdk.javaapi.CollectionConverters.asScala(ids).toSeq(), split);
  }

  private static List<Integer> encode(ThetacalConfig c, String text) {
    return Arrays.stream(ExecutorModels.tokenizer(c.model().id()).tokenizer().encode(text)).boxed().toList();
  }

  /** Writes rows as one Parquet file {@code name} under {@code dir}: a newly landed partition. */
  private void land(SparkSession spark, List<Row> rows, Path dir, String name) throws Exception {
    Path staging = tmp.resolve("staging-" + name);
    spark.createDataFrame(rows, SCHEMA).coalesce(1).write().parquet(staging.toString());
    try (Stream<Path> files = Files.list(staging)) {
      Path part = files.filter(f -> f.getFileName().toString().endsWith(".parquet")).findFirst().orElseThrow();
      Files.createDirectories(dir);
      Files.copy(part, dir.resolve(name));
    }
  }

  private static Map<String, Long> reasons(SparkSession spark, Path dir) {
    return spark.read().parquet(dir.toString()).collectAsList().stream()
        .collect(Collectors.groupingBy(r -> (String) r.getAs("reject_reason"), TreeMap::new, Collectors.counting()));
  }

  @Test
  void badRowsOfNewPartitionsAreQuarantinedCountedAndLimitedWhileTheOthersAreRefreshed() throws Exception {
    SparkSession spark = SharedSpark.get();
    Path out = tmp.resolve("out");
    Path landed = tmp.resolve("landed");
    ThetacalConfig lenient = config(out, landed, 0.5);
    ThetacalConfig strict = config(out, landed, 0.05);
    // One clock for every run: the runs' names collide, and nothing one run wrote may be replaced.
    Clock clock = Clock.fixed(Instant.parse("2026-11-23T12:00:00Z"), ZoneOffset.UTC);
    String stamp = "v20261123T120000Z";
    Path rejectedRoot = out.resolve("rejected/refresh");

    // The first partition: 6 calibration rows, 3 holdout rows for the gate, one empty row and two rows
    // without a split of ingest.
    List<Row> first = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      first.add(row("a" + i, i < 6 ? "calibration" : "holdout", encode(lenient, TEXTS.get(i))));
    }
    first.add(row("a-empty", "calibration", List.of()));
    // Rows the model could take but that name no split of ingest: in no split, or (null) in both.
    first.add(row("a-nosplit", null, encode(lenient, TEXTS.get(0))));
    first.add(row("a-validation", "validation", encode(lenient, TEXTS.get(1))));
    land(spark, first, landed, "part-00000.parquet");
    RefreshJobResult r1 = new RefreshJob(spark).config(lenient).clock(clock).execute();
    ThresholdStore store = RefreshJob.store(out, Placement.PRE_SOFTMAX, clock);
    String v1 = store.current().orElseThrow();
    assertEquals(RefreshResult.Outcome.PUBLISHED, r1.placements().get(Placement.PRE_SOFTMAX).outcome());
    assertEquals(6, r1.calibratedSequences());
    assertEquals(3, r1.rejectedSequences());
    assertEquals(3L, store.manifest(v1).counts().other().get("rejected_sequences"));
    Map<String, Long> firstReasons = Map.of("empty_sequence", 1L, "unknown_split", 2L);
    assertEquals(firstReasons, reasons(spark, rejectedRoot.resolve("run=" + stamp)));

    // A second partition lands: 5 good calibration rows, one over-long row (513 ids, the model has 512
    // positions), one with an id outside the vocabulary, one empty: 3 of 8 rows, 37.5 %.
    List<Row> second = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      second.add(row("b" + i, "calibration", encode(lenient, TEXTS.get(9 - i))));
    }
    List<Integer> tooLong = new ArrayList<>(encode(lenient, TEXTS.get(0)));
    while (tooLong.size() < 513) {
      tooLong.add(1000);
    }
    second.add(row("b-long", "calibration", tooLong));
    second.add(row("b-oov", "calibration", List.of(101, 999_999, 102)));
    second.add(row("b-empty", "calibration", List.of()));
    land(spark, second, landed, "part-00001.parquet");

    CalibrateException stop = assertThrows(CalibrateException.class,
        () -> new RefreshJob(spark).config(strict).clock(clock).execute());
    assertTrue(stop.getMessage().contains("3 of 8 sequences") && stop.getMessage().contains("(37.5 %)")
        && stop.getMessage().contains("'calibration.max_rejected_fraction' = 0.05"), stop.getMessage());
    assertEquals(v1, store.current().orElseThrow(), "nothing is published when the limit stops the refresh");
    Map<String, Long> expected = Map.of("empty_sequence", 1L, "too_long_for_model", 1L,
        "token_out_of_vocabulary", 1L);
    assertEquals(expected, reasons(spark, rejectedRoot.resolve("run=" + stamp + ".001")),
        "the rows are quarantined before the refresh stops");

    RefreshJobResult r2 = new RefreshJob(spark).config(lenient).clock(clock).execute();
    assertEquals(RefreshResult.Outcome.PUBLISHED, r2.placements().get(Placement.PRE_SOFTMAX).outcome());
    String v2 = store.current().orElseThrow();
    assertTrue(!v2.equals(v1), v2);
    assertEquals(5, r2.calibratedSequences(), "the other rows are refreshed");
    assertEquals(3, r2.rejectedSequences());
    assertEquals(3L, store.manifest(v2).counts().other().get("rejected_sequences"));
    assertEquals(1, store.record(v2).orElseThrow().newPartitions());
    assertTrue(store.manifest(v2).counts().rowsObserved() > store.manifest(v1).counts().rowsObserved());
    Path written = rejectedRoot.resolve("run=" + stamp + ".002");
    assertEquals(expected, reasons(spark, written));
    Row longRow = spark.read().parquet(written.toString()).filter("reject_reason = 'too_long_for_model'").first();
    assertEquals("landed", longRow.getAs("dataset"));
    assertEquals("b-long", longRow.getAs("doc_id"));
    assertEquals(513, (int) longRow.getAs("n_tokens"));
    assertTrue(((String) longRow.getAs("file")).endsWith("part-00001.parquet"), (String) longRow.getAs("file"));
    // What the earlier runs quarantined is still there.
    assertEquals(firstReasons, reasons(spark, rejectedRoot.resolve("run=" + stamp)));
    assertEquals(expected, reasons(spark, rejectedRoot.resolve("run=" + stamp + ".001")));
  }

  @Test
  void holdoutRowsOfAJudgedDatasetThatIsNotRefreshedAreQuarantinedToo() throws Exception {
    SparkSession spark = SharedSpark.get();
    Path out = tmp.resolve("out");
    Path landed = tmp.resolve("landed");
    Path judged = tmp.resolve("judged");
    ThetacalConfig c = ConfigLoader.fromYaml("""
        model: {max_sequence_length: 40, batch_size: 8}
        corpora:
          - {name: ep-en, source: {type: europarl, language: en, max_docs: 10}}
        calibration: {datasets: [ep-en], k_grid: [4, 8], holdout_sequences: 0}
        refresh:
          datasets: [landed]
          roots: {landed: '%s', judged: '%s'}
          holdout: [judged]
          gate_k: 4
          placements: [pre_softmax]
        report: {gates: {max_kept_deviation: 5.0, max_quality_loss: 1.0}}
        spark: {partitions: 2}
        output: {root: '%s'}
        """.formatted(landed, judged, out), "test", List.of("calibration.max_rejected_fraction=0.5"));
    Clock clock = Clock.fixed(Instant.parse("2026-11-23T12:00:00Z"), ZoneOffset.UTC);
    List<Row> calibration = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      calibration.add(row("a" + i, "calibration", encode(c, TEXTS.get(i))));
    }
    land(spark, calibration, landed, "part-00000.parquet");
    // The judged dataset: 3 holdout rows, an empty holdout row, and a calibration row the gate never reads.
    List<Row> holdout = new ArrayList<>();
    for (int i = 6; i < 9; i++) {
      holdout.add(row("h" + i, "holdout", encode(c, TEXTS.get(i))));
    }
    holdout.add(row("h-empty", "holdout", List.of()));
    holdout.add(row("h-oov", "calibration", List.of(101, 999_999, 102)));
    land(spark, holdout, judged, "part-00001.parquet");

    RefreshJobResult r = new RefreshJob(spark).config(c).clock(clock).execute();
    assertEquals(RefreshResult.Outcome.PUBLISHED, r.placements().get(Placement.PRE_SOFTMAX).outcome());
    assertEquals(6, r.calibratedSequences());
    assertEquals(1, r.rejectedSequences(), "the judged dataset's empty holdout row");
    Path written = out.resolve("rejected/refresh/run=v20261123T120000Z");
    assertEquals(Map.of("empty_sequence", 1L), reasons(spark, written));
    Row empty = spark.read().parquet(written.toString()).first();
    assertEquals("judged", empty.getAs("dataset"));
    assertEquals("h-empty", empty.getAs("doc_id"));
  }
}
