package io.thetacal.jobs.refresh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.io.StoreLock;
import io.thetacal.io.ThresholdStore;
import io.thetacal.io.VersionRecord;
import io.thetacal.jobs.SharedSpark;
import io.thetacal.jobs.cli.Thetacal;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store commands on a version published by {@code thetacal calibrate}: a refresh with one new
 * partition publishes, a second one finds nothing new, versions lists both, rollback and promote
 * switch current.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RefreshCliTest {
  @TempDir
  static Path tmp;

  private static Path out;
  private static Path refreshConf;
  private static String stdout;
  private static String stderr;

  static final String CONF = """
      model: {max_sequence_length: 40, batch_size: 8}
      corpora:
        - {name: ep-en, source: {type: europarl, language: en, max_docs: 10}}
        - {name: ep-de, source: {type: europarl, language: de, max_docs: 10}}
      ingest: {holdout_fraction: 0.3}
      calibration: {datasets: [ep-en], k_grid: [4, 8], holdout_sequences: 0}
      spark: {partitions: 2}
      """;

  static int cli(String... args) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    int code = Thetacal.run(args, new PrintStream(o, true, StandardCharsets.UTF_8),
        new PrintStream(e, true, StandardCharsets.UTF_8));
    stdout = o.toString(StandardCharsets.UTF_8);
    stderr = e.toString(StandardCharsets.UTF_8);
    return code;
  }

  @BeforeAll
  static void calibrate() throws Exception {
    SparkSession spark = SharedSpark.get();
    out = tmp.resolve("out");
    Path conf = tmp.resolve("small.yaml");
    Files.writeString(conf, CONF);
    assertEquals(0, cli("ingest", "--conf", conf.toString(), "--out", out.toString()), stderr);
    assertEquals(0, cli("calibrate", "--conf", conf.toString(), "--out", out.toString(), "--version", "v1"),
        stderr);
    // The calibration's own config plus a refresh section: the same schema, the same settings.
    refreshConf = tmp.resolve("refresh.yaml");
    Files.writeString(refreshConf, CONF + """
        refresh:
          holdout: [ep-de]
          gate_k: 4
          placements: [pre_softmax]
          retention: 5
        report: {gates: {max_kept_deviation: 5.0, max_quality_loss: 1.0}}
        output: {root: %s}
        """.formatted(out));
    assertTrue(spark != null);
  }

  @Test
  @Order(1)
  void calibratePublishesARefreshableCurrentVersion() throws Exception {
    ThresholdStore store = RefreshJob.store(out, Placement.PRE_SOFTMAX, Clock.systemUTC());
    assertEquals("v1", store.current().orElseThrow());
    VersionRecord r = store.record("v1").orElseThrow();
    assertTrue(r.watermark().partitionCount() > 0, r.toString());
    assertTrue(r.watermark().datasets().containsKey("ep-en"));
  }

  @Test
  @Order(2)
  void aNewPartitionIsCalibratedGatedAndPublished() throws Exception {
    // A new partition of ep-en: the calibration rows of ep-de, landed as one more file.
    SparkSession spark = SharedSpark.get();
    Path staging = tmp.resolve("new-partition");
    spark.read().parquet(out.resolve("corpora").resolve("dataset=ep-de").toString())
        .coalesce(1).write().parquet(staging.toString());
    Path part;
    try (var files = Files.list(staging)) {
      part = files.filter(f -> f.getFileName().toString().endsWith(".parquet")).findFirst().orElseThrow();
    }
    Files.copy(part, out.resolve("corpora").resolve("dataset=ep-en").resolve("part-new-00000.parquet"));

    assertEquals(0, cli("refresh", "--conf", refreshConf.toString()), stdout + stderr);
    assertTrue(stdout.contains("refresh pre_softmax: published v"), stdout);
    assertTrue(stdout.contains("with 1 new partitions"), stdout);
    assertTrue(stdout.contains("current was v1, gate 'report' passed"), stdout);
    ThresholdStore store = RefreshJob.store(out, Placement.PRE_SOFTMAX, Clock.systemUTC());
    String current = store.current().orElseThrow();
    assertTrue(current.startsWith("v2"), current);
    VersionRecord r = store.record(current).orElseThrow();
    assertEquals("v1", r.parent());
    assertEquals(1, r.newPartitions());
    assertTrue(Files.isRegularFile(store.root().resolve(current).resolve(ThresholdStore.REPORT)));
  }

  @Test
  @Order(3)
  void aSecondRefreshWithoutNewDataPublishesNothingAndExitsZero() {
    assertEquals(0, cli("refresh", "--conf", refreshConf.toString()), stdout + stderr);
    assertTrue(stdout.contains("nothing new since v2"), stdout);
  }

  @Test
  @Order(4)
  void versionsRollbackAndPromoteSwitchCurrent() throws Exception {
    ThresholdStore store = RefreshJob.store(out, Placement.PRE_SOFTMAX, Clock.systemUTC());
    String refreshed = store.current().orElseThrow();
    assertEquals(0, cli("versions", "--conf", refreshConf.toString()), stderr);
    assertTrue(stdout.contains("  v1 "), stdout);
    assertTrue(stdout.contains("* " + refreshed), stdout);
    assertTrue(stdout.contains("pass (report)") && stdout.contains("pass (calibrate)"), stdout);
    assertTrue(stdout.contains("ep-en:"), stdout);

    assertEquals(0, cli("rollback", "--out", out.toString()), stderr);
    assertEquals("v1", store.current().orElseThrow());
    assertTrue(stdout.contains("current: v1 (rolled back from " + refreshed + ")"), stdout);

    assertEquals(0, cli("promote", refreshed, "--conf", refreshConf.toString()), stderr);
    assertEquals(refreshed, store.current().orElseThrow());
    List<String> actions = store.history().stream().map(ThresholdStore.HistoryEntry::action).toList();
    assertTrue(actions.containsAll(List.of("publish", "rollback", "promote")), actions.toString());
  }

  @Test
  @Order(5)
  void promotingAnUnknownVersionFailsNamingIt() {
    assertEquals(1, cli("promote", "v9", "--out", out.toString()));
    assertTrue(stderr.contains("v9"), stderr);
    assertEquals(2, cli("promote", "--out", out.toString()));
    assertTrue(stderr.contains("which version?"), stderr);
  }

  @Test
  @Order(6)
  void aHeldStoreLockStopsRefreshAndRollbackWithExitCode4NamingTheHolder() throws Exception {
    ThresholdStore store = RefreshJob.store(out, Placement.PRE_SOFTMAX, Clock.systemUTC());
    String before = store.current().orElseThrow();
    try (StoreLock held = store.lock("refresh")) {
      assertEquals(4, cli("rollback", "--conf", refreshConf.toString()));
      assertTrue(stderr.contains("holds the threshold store lock")
          && stderr.contains("pid " + ProcessHandle.current().pid()), stderr);
      assertEquals(4, cli("refresh", "--conf", refreshConf.toString()));
      assertTrue(stderr.contains("holds the threshold store lock"), stderr);
    }
    assertEquals(before, store.current().orElseThrow());
  }
}
