package io.thetacal.jobs.refresh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.DepthCorrection;
import io.thetacal.io.ArrowThresholdWriter;
import io.thetacal.io.StateFiles;
import io.thetacal.io.ThresholdManifest;
import io.thetacal.io.ThresholdStore;
import io.thetacal.io.VersionRecord;
import io.thetacal.jobs.SharedSpark;
import io.thetacal.jobs.ThetacalJobs;
import io.thetacal.jobs.calibrate.CalibrateJob;
import io.thetacal.jobs.calibrate.CalibrateResult;
import io.thetacal.jobs.cli.Thetacal;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A refresh on top of the README's default run, through the command line: {@code thetacal calibrate
 * --conf conf/default.yaml} publishes the first version of both placements, a new partition lands, and
 * {@code thetacal refresh --conf conf/refresh.yaml} (the shipped example, the same schema and defaults)
 * publishes a refreshed version of both, then finds nothing new. The refreshed state equals, bit for bit,
 * the state {@code CalibrateJob} computes on all partitions at once, and a store lock held by a running
 * calibrate stops refresh, promote, rollback and calibrate with exit code 4 and one line naming it. Small
 * corpora (--set max_docs, 48-token sequences) keep it fast.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RefreshDefaultRunTest {
  static final Path CONF = Path.of("").toAbsolutePath().getParent().resolve("conf");
  /** The user's overrides of the default run, given alike to every command. */
  static final List<String> SETS = List.of("model.max_sequence_length=48", "corpora[0].source.max_docs=10",
      "corpora[1].source.max_docs=6", "calibration.holdout_sequences=0", "spark.partitions=2");

  @TempDir
  static Path tmp;

  static Path out;
  static Path landed;
  static final java.util.Map<Placement, String> refreshed = new java.util.EnumMap<>(Placement.class);
  static String stdout;
  static String stderr;

  static int cli(String command, String conf, String... more) {
    List<String> args = new ArrayList<>(List.of(command, "--conf", CONF.resolve(conf).toString(), "--out",
        out.toString()));
    for (String s : SETS) {
      args.add("--set");
      args.add(s);
    }
    args.addAll(List.of(more));
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    int code = Thetacal.run(args.toArray(new String[0]), new PrintStream(o, true, StandardCharsets.UTF_8),
        new PrintStream(e, true, StandardCharsets.UTF_8));
    stdout = o.toString(StandardCharsets.UTF_8);
    stderr = e.toString(StandardCharsets.UTF_8);
    return code;
  }

  static ThresholdStore store(Placement p) {
    return RefreshJob.store(out, p, Clock.systemUTC());
  }

  @BeforeAll
  static void ingestAndCalibrate() throws Exception {
    SharedSpark.get();
    out = tmp.resolve("out");
    assertEquals(0, cli("ingest", "default.yaml", "--dataset", "europarl-en", "--dataset", "europarl-de"),
        stdout + stderr);
    assertEquals(0, cli("calibrate", "default.yaml", "--version", "v1"), stdout + stderr);
  }

  @Test
  @Order(1)
  void theDefaultRunIsRefreshedWithTheShippedRefreshConfigAndThenHasNothingNew() throws Exception {
    for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
      assertEquals("v1", store(p).current().orElseThrow());
    }
    // New data lands: one more ingested partition of europarl-en (rows of the German corpus).
    Path de;
    try (Stream<Path> files = Files.list(out.resolve("corpora/dataset=europarl-de"))) {
      de = files.filter(f -> f.getFileName().toString().endsWith(".parquet")).sorted().findFirst()
          .orElseThrow();
    }
    landed = out.resolve("corpora/dataset=europarl-en/part-landed-00000.parquet");
    Files.copy(de, landed);

    assertEquals(0, cli("refresh", "refresh.yaml"), stdout + stderr);
    for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
      String name = p.name().toLowerCase(java.util.Locale.ROOT);
      assertTrue(stdout.contains("refresh " + name + ": published v"), stdout);
      ThresholdStore store = store(p);
      String current = store.current().orElseThrow();
      assertTrue(current.startsWith("v2"), current);
      VersionRecord r = store.record(current).orElseThrow();
      assertEquals("v1", r.parent());
      assertEquals(1, r.newPartitions());
      assertTrue(r.gate().pass() && r.gate().gate().equals("report"), r.gate().toString());
      String judged = "europarl-en, k=32, " + p + ", "
          + (p == Placement.PRE_SOFTMAX ? "SDC_EXACT_VMC" : "VMC") + ": ";
      assertTrue(r.gate().reasons().stream().anyMatch(x -> x.contains(judged)), r.gate().reasons().toString());
      assertTrue(r.watermark().datasets().get("europarl-en").containsKey("part-landed-00000.parquet"));
      ThresholdManifest m = store.manifest(current);
      // the default calibrates with top-k at calibration, and the refresh continues it
      assertEquals(1L, m.counts().other().get(CalibrateJob.TOP_K_AT_CALIBRATION));
      assertTrue(m.provenance().config().histogramsPerK());
      refreshed.put(p, current);
    }
    assertTrue(stdout.contains("with 1 new partitions"), stdout);
    assertTrue(stdout.contains("current was v1, gate 'report' passed"), stdout);
    assertTrue(stdout.contains("new sequences calibrated"), stdout);

    assertEquals(0, cli("refresh", "refresh.yaml"), stdout + stderr);
    assertTrue(stdout.contains("refresh pre_softmax: nothing new since " + refreshed.get(Placement.PRE_SOFTMAX)
        + " (3 partitions); nothing published"), stdout);
    assertTrue(stdout.contains("refresh post_softmax: nothing new since " + refreshed.get(Placement.POST_SOFTMAX)),
        stdout);
    assertTrue(stdout.contains("refresh: nothing new, nothing published"), stdout);
    for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
      assertEquals(2, store(p).versions().size(), store(p).versions().toString());
    }

    assertEquals(0, cli("versions", "refresh.yaml", "--placement", "post_softmax"), stderr);
    assertTrue(stdout.contains("versions in " + store(Placement.POST_SOFTMAX).root()), stdout);
    assertTrue(stdout.contains("pass (calibrate)") && stdout.contains("pass (report)"), stdout);
  }

  @Test
  @Order(2)
  void calibrateThenRefreshOnSparkEqualsCalibrateOfAllPartitionsBitForBit() throws Exception {
    // calibrate(A ∪ B) on its own output root: the ingested partitions plus the landed one.
    Path full = tmp.resolve("full");
    copyTree(out.resolve("corpora"), full.resolve("corpora"));
    ThetacalConfig config = ConfigLoader.load(CONF.resolve("default.yaml"), SETS);
    CalibrateResult all = ThetacalJobs.get(SharedSpark.get()).calibrate().config(config)
        .outputRoot(full.toString()).version("all").execute();
    for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
      Path a = Path.of(all.directories().get(p));
      Path b = store(p).openVerified(refreshed.get(p));
      assertArrayEquals(Files.readAllBytes(a.resolve(StateFiles.FILE_NAME)),
          Files.readAllBytes(b.resolve(StateFiles.FILE_NAME)), p + " state");
      // thresholds.arrow records its creation time; everything else must be the same.
      assertEquals(arrowContent(a.resolve(ArrowThresholdWriter.FILE_NAME)),
          arrowContent(b.resolve(ArrowThresholdWriter.FILE_NAME)), p + " thresholds.arrow");
      assertEquals(ThresholdManifest.read(a.resolve("thresholds.json")).toTable(),
          store(p).manifest(refreshed.get(p)).toTable());
      // the depth correction, fitted on the first calibration sequences of every partition present
      DepthCorrection correction = ThresholdManifest.read(a.resolve("thresholds.json")).depthCorrection();
      assertEquals(32, correction.sequences(), p + " depth correction");
      assertEquals(correction, store(p).manifest(refreshed.get(p)).depthCorrection(), p + " depth correction");
    }
    ThresholdManifest first = store(Placement.PRE_SOFTMAX).manifest("v1");
    assertFalse(first.toTable().equals(store(Placement.PRE_SOFTMAX).manifest(
        refreshed.get(Placement.PRE_SOFTMAX)).toTable()),
        "the landed partition changed the thresholds");
  }

  @Test
  @Order(3)
  void aRefreshWhoseCalibrationSettingsDifferIsRefusedNamingTheKey() {
    assertEquals(2, cli("refresh", "refresh.yaml", "--set", "calibration.k_grid=16,32"), stdout + stderr);
    assertTrue(stderr.startsWith("thetacal refresh: 'calibration.k_grid' is set to [16, 32] but the current"
        + " version was calibrated with [16, 32, 64, 128, 256]"), stderr);
    assertEquals(2, cli("refresh", "refresh.yaml", "--set", "calibration.sigma_add=0.2"), stdout + stderr);
    assertTrue(stderr.contains("'calibration.sigma_add' is set to 0.2"), stderr);
    assertEquals(2, cli("refresh", "refresh.yaml", "--set", "calibration.top_k_at_calibration=false"),
        stdout + stderr);
    assertTrue(stderr.contains("'calibration.top_k_at_calibration' is false for this model but the current"
        + " version"), stderr);
    assertEquals(2, cli("refresh", "refresh.yaml", "--set", "refresh.gate_k=12"), stdout + stderr);
    assertTrue(stderr.contains("'refresh.gate_k' is set to 12 but must be one of 'calibration.k_grid'"),
        stderr);
  }

  @Test
  @Order(4)
  void aStoreLockHeldByARunningCalibrateStopsEveryStoreCommandWithExitCode4NamingIt() throws Exception {
    ThresholdStore store = store(Placement.PRE_SOFTMAX);
    String before = store.current().orElseThrow();
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process holder = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"),
        HoldStoreLock.class.getName(), store.root().toString(), "calibrate").redirectErrorStream(true).start();
    try {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(holder.getInputStream(),
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null && !line.startsWith("LOCKED")) {
          // JVM warnings before the holder reports
        }
        assertTrue(line != null, "the holder exited before taking the lock");
      }
      Files.copy(landed, out.resolve("corpora/dataset=europarl-en/part-landed-00001.parquet"));
      String named = "another calibrate holds the threshold store lock " + store.root().resolve(".lock")
          + ": pid " + holder.pid() + " on host ";
      for (String[] command : List.of(new String[] {"refresh", "refresh.yaml"},
          new String[] {"rollback", "refresh.yaml"}, new String[] {"promote", "refresh.yaml", "v1"},
          new String[] {"calibrate", "default.yaml", "--version", "v9"})) {
        String[] more = java.util.Arrays.copyOfRange(command, 2, command.length);
        assertEquals(4, cli(command[0], command[1], more), command[0] + ": " + stdout + stderr);
        assertTrue(stderr.startsWith("thetacal " + command[0] + ": " + named), stderr);
        assertTrue(stderr.strip().endsWith("(calibrate); wait for it to finish"), stderr);
        assertEquals(1, stderr.strip().lines().count(), "one line, no stack trace: " + stderr);
      }
    } finally {
      holder.destroyForcibly();
      holder.waitFor();
    }
    assertEquals(before, store.current().orElseThrow());
    assertEquals(2, store.versions().size(), "nothing was published while the lock was held");
  }

  /** The schema metadata but created_at, and every row, of an Arrow file. */
  static String arrowContent(Path file) throws Exception {
    StringBuilder sb = new StringBuilder();
    try (org.apache.arrow.memory.RootAllocator alloc = new org.apache.arrow.memory.RootAllocator();
        java.nio.channels.SeekableByteChannel ch = Files.newByteChannel(file);
        org.apache.arrow.vector.ipc.ArrowFileReader reader = new org.apache.arrow.vector.ipc.ArrowFileReader(ch,
            alloc)) {
      java.util.Map<String, String> meta = new java.util.TreeMap<>(
          reader.getVectorSchemaRoot().getSchema().getCustomMetadata());
      assertTrue(meta.remove("created_at") != null, meta.toString());
      sb.append(meta).append('\n');
      while (reader.loadNextBatch()) {
        org.apache.arrow.vector.VectorSchemaRoot root = reader.getVectorSchemaRoot();
        for (org.apache.arrow.vector.FieldVector v : root.getFieldVectors()) {
          sb.append(v.getField()).append(':');
          for (int i = 0; i < v.getValueCount(); i++) {
            Object o = v.getObject(i);
            sb.append(o instanceof Float f ? Integer.toHexString(Float.floatToRawIntBits(f))
                : o instanceof Double d ? Long.toHexString(Double.doubleToRawLongBits(d)) : String.valueOf(o))
                .append(',');
          }
          sb.append('\n');
        }
      }
    }
    return sb.toString();
  }

  private static void copyTree(Path from, Path to) throws Exception {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : all.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }
}
