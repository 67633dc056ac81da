package io.thetacal.jobs.reliability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.io.ThresholdManifest;
import io.thetacal.io.ThresholdStore;
import io.thetacal.io.VersionedDirectory;
import io.thetacal.jobs.SharedSpark;
import io.thetacal.jobs.ThetacalJobs;
import io.thetacal.jobs.calibrate.CalibrateResult;
import io.thetacal.jobs.cluster.StandaloneCluster;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the calibrate driver (a child JVM running the CLI in local mode) while it writes its
 * outputs: every placement directory then holds either the complete new version (its files match the
 * sizes and SHA-256s of its _SUCCESS marker, its manifest and state read) or no trace of it that a
 * reader would take for a version; the next calibrate run publishes normally.
 */
@Tag("slow")
class DriverCrashTest {
  static final String CONF = """
      model: {max_sequence_length: 64}
      corpora:
        - {name: ep-en, source: {type: europarl, language: en, max_docs: 40}}
      calibration: {datasets: [ep-en], k_grid: [4, 8, 16], holdout_sequences: 0}
      ingest: {max_rejected_fraction: 1.0}
      spark: {partitions: 2, progress_interval_seconds: 1}
      """;
  private static final int RUNS = 6;

  @TempDir
  Path tmp;

  @Test
  void killingTheDriverWhileItWritesLeavesTheCompleteVersionOrNone() throws Exception {
    Path conf = tmp.resolve("conf.yaml");
    Files.writeString(conf, CONF);
    Path out = tmp.resolve("out");
    ThetacalConfig config = ConfigLoader.fromYaml(CONF, conf.toString(), List.of());
    ThetacalJobs.get(SharedSpark.get()).ingest().config(config).outputRoot(out.toString()).execute();
    Random random = new Random(20251123L);
    int killedWhileWriting = 0;
    int finishedFirst = 0;
    int completeAfterKill = 0;
    int absentAfterKill = 0;
    int stagingLeft = 0;
    long t0 = System.nanoTime();
    for (int run = 0; run < RUNS; run++) {
      String version = "crash" + run;
      Path log = tmp.resolve("driver-" + run + ".log");
      Process p = driver(conf, out, version, log);
      boolean writing = awaitStaging(out, p, 240_000);
      if (writing) {
        Thread.sleep(random.nextInt(1500));
      }
      boolean alive = p.isAlive();
      p.destroyForcibly();
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      if (writing && alive) {
        killedWhileWriting++;
      } else {
        assertEquals(0, p.exitValue(), () -> "driver failed: " + tail(log));
        finishedFirst++;
      }
      for (Placement placement : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
        Path root = out.resolve("thresholds").resolve(placement.name().toLowerCase(Locale.ROOT));
        VersionedDirectory dir = new VersionedDirectory(root);
        ThresholdStore store = new ThresholdStore(root, Clock.systemUTC());
        Path target = root.resolve(version);
        if (dir.versions().contains(version)) {
          dir.openVerified(version);
          ThresholdManifest m = store.manifest(version);
          assertEquals(List.of(4, 8, 16), m.kGrid());
          store.state(version);
          if (alive && writing) {
            completeAfterKill++;
          }
        } else {
          assertFalse(Files.exists(target), target + " exists but is not a complete version");
          assertThrows(IOException.class, () -> dir.open(version));
          if (alive && writing) {
            absentAfterKill++;
          }
        }
        Path staging = root.resolve(".staging");
        if (Files.isDirectory(staging)) {
          try (Stream<Path> s = Files.list(staging)) {
            for (Path left : s.toList()) {
              stagingLeft++;
              assertFalse(dir.versions().contains(left.getFileName().toString()));
              assertThrows(IOException.class, () -> dir.open(left.getFileName().toString()));
            }
          }
        }
      }
    }
    long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
    // after the crashes, a normal run publishes beside the leftovers
    CalibrateResult after = ThetacalJobs.get(SharedSpark.get()).calibrate().config(config)
        .outputRoot(out.toString()).version("after").execute();
    for (Placement placement : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
      Path root = out.resolve("thresholds").resolve(placement.name().toLowerCase(Locale.ROOT));
      new VersionedDirectory(root).openVerified("after");
      assertEquals(Path.of(after.directories().get(placement)), root.resolve("after"));
      for (String v : new VersionedDirectory(root).versions()) {
        if (v.startsWith("crash")) {
          assertArrayEquals(Files.readAllBytes(root.resolve("after/state.bin")),
              Files.readAllBytes(root.resolve(v).resolve("state.bin")), v + " differs from a clean run");
        }
      }
    }
    System.out.printf(Locale.ROOT, "driver kills while writing: %d/%d runs (%d finished before the kill); "
        + "placements complete after a kill: %d, absent: %d, partial: 0; staging leftovers: %d; %d s%n",
        killedWhileWriting, RUNS, finishedFirst, completeAfterKill, absentAfterKill, stagingLeft, seconds);
    assertTrue(killedWhileWriting >= RUNS / 2, "only " + killedWhileWriting + " kills landed while writing");
  }

  /** Waits until a staging directory of this run appears; false when the driver exits first. */
  private static boolean awaitStaging(Path out, Process p, long timeoutMillis) throws Exception {
    long end = System.currentTimeMillis() + timeoutMillis;
    while (System.currentTimeMillis() < end) {
      for (String placement : List.of("pre_softmax", "post_softmax")) {
        Path staging = out.resolve("thresholds").resolve(placement).resolve(".staging");
        if (Files.isDirectory(staging)) {
          try (Stream<Path> s = Files.list(staging)) {
            if (s.findAny().isPresent()) {
              return true;
            }
          } catch (java.nio.file.NoSuchFileException race) {
            // removed while listing
          }
        }
      }
      if (!p.isAlive()) {
        return false;
      }
      Thread.sleep(2);
    }
    throw new IllegalStateException("no staging directory appeared in " + timeoutMillis + " ms");
  }

  static Process driver(Path conf, Path out, String version, Path log) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(StandaloneCluster.moduleFlags());
    cmd.add("-Xmx2g");
    cmd.add("-Dspark.master=local[2]");
    cmd.add("-Dspark.ui.enabled=false");
    cmd.add("-Dspark.driver.host=127.0.0.1");
    cmd.add("-Dspark.driver.bindAddress=127.0.0.1");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("io.thetacal.jobs.cli.Thetacal");
    cmd.addAll(List.of("calibrate", "--conf", conf.toString(), "--out", out.toString(), "--version", version));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    return pb.start();
  }

  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }
}
