package io.thetacal.jobs.reliability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.jobs.SharedSpark;
import io.thetacal.jobs.ThetacalJobs;
import io.thetacal.jobs.calibrate.CalibrateResult;
import io.thetacal.jobs.cluster.StandaloneCluster;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of one executor JVM mid-calibration on a real standalone cluster (a master and two workers on
 * 127.0.0.1): Spark re-runs the lost tasks on a re-launched executor, the job completes, and the
 * thresholds and state are bitwise equal to an undisturbed run.
 */
@Tag("slow")
class ExecutorLossTest {
  private static final String CONF = """
      model: {max_sequence_length: 64}
      corpora:
        - {name: ep-en, source: {type: europarl, language: en, max_docs: 400}}
      calibration: {datasets: [ep-en], k_grid: [4, 8, 16], holdout_sequences: 0}
      ingest: {max_rejected_fraction: 1.0}
      spark: {partitions: 16, progress_interval_seconds: 1}
      """;
  private static final int RUNS = 3;
  private static final Pattern PROGRESS = Pattern.compile("calibrate: (\\d+)/(\\d+) sequences");

  @TempDir
  Path tmp;

  @Test
  void killingAnExecutorMidCalibrationStillGivesBitwiseEqualThresholds() throws Exception {
    Path conf = tmp.resolve("conf.yaml");
    Files.writeString(conf, CONF);
    Path out = tmp.resolve("out");
    ThetacalConfig config = ConfigLoader.fromYaml(CONF, conf.toString(), List.of());
    ThetacalJobs.get(SharedSpark.get()).ingest().config(config).outputRoot(out.toString()).execute();
    CalibrateResult reference = ThetacalJobs.get(SharedSpark.get()).calibrate().config(config)
        .outputRoot(out.toString()).version("undisturbed").execute();

    Random random = new Random(20251123L);
    int killsLanded = 0;
    int survived = 0;
    long t0 = System.nanoTime();
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (StandaloneCluster cluster = new StandaloneCluster(tmp.resolve("cluster"), 2, 1)) {
      for (int run = 0; run < RUNS; run++) {
        String version = "loss" + run;
        Path log = tmp.resolve("submit-" + run + ".log");
        Future<Integer> submit = pool.submit(() -> cluster.submit("io.thetacal.jobs.cli.Thetacal",
            List.of("spark.task.maxFailures=8", "spark.deploy.maxExecutorRetries=20"),
            List.of("calibrate", "--conf", conf.toString(), "--out", out.toString(), "--version", version),
            log, Duration.ofMinutes(8)));
        boolean killed = false;
        long deadline = System.currentTimeMillis() + 8 * 60_000;
        while (!submit.isDone() && System.currentTimeMillis() < deadline) {
          long[] progress = lastProgress(log);
          List<ProcessHandle> executors = cluster.executors();
          if (progress != null && progress[0] > 0 && progress[0] < progress[1] && !executors.isEmpty()) {
            Thread.sleep(random.nextInt(500));
            ProcessHandle victim = executors.get(random.nextInt(executors.size()));
            killed = victim.destroyForcibly();
            System.out.printf(Locale.ROOT, "run %d: killed executor pid %d at %d/%d sequences%n", run,
                victim.pid(), progress[0], progress[1]);
            break;
          }
          Thread.sleep(50);
        }
        int code = submit.get(9, TimeUnit.MINUTES);
        assertEquals(0, code, () -> "calibrate failed after the kill:\n" + DriverCrashTest.tail(log));
        if (killed) {
          killsLanded++;
          String driverLog = Files.readString(log);
          long lostLines = driverLog.lines().filter(l -> l.contains("Lost executor") || l.contains("ExecutorLostFailure")
              || l.contains("Lost task")).count();
          System.out.printf(Locale.ROOT, "run %d: driver log lines on the lost executor and its tasks: %d%n", run, lostLines);
          assertTrue(lostLines > 0, "the driver never noticed the lost executor:\n" + DriverCrashTest.tail(log));
        }
        for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
          Path ref = Path.of(reference.directories().get(p));
          Path got = out.resolve("thresholds").resolve(p.name().toLowerCase(Locale.ROOT)).resolve(version);
          assertArrayEquals(Files.readAllBytes(ref.resolve("state.bin")), Files.readAllBytes(got.resolve("state.bin")),
              p + " state of run " + run + " differs from the undisturbed run");
          assertEquals(thetaCells(ref), thetaCells(got), p + " thresholds differ");
        }
        if (killed) {
          survived++;
        }
      }
    } finally {
      pool.shutdownNow();
    }
    long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
    System.out.printf(Locale.ROOT, "executor kills survived: %d/%d (landed mid-calibration in %d of %d runs); %d s%n",
        survived, killsLanded, killsLanded, RUNS, seconds);
    assertTrue(killsLanded >= 2, "only " + killsLanded + " kills landed mid-calibration");
    assertEquals(killsLanded, survived);
  }

  /** The θ arrays of a version's manifest, as written (thresholds.json minus its created-at provenance). */
  private static String thetaCells(Path version) throws Exception {
    String json = Files.readString(version.resolve("thresholds.json"));
    int i = json.indexOf("\"thresholds\"");
    assertTrue(i > 0, version + "/thresholds.json has no thresholds");
    return json.substring(i);
  }

  private static long[] lastProgress(Path log) throws Exception {
    if (!Files.exists(log)) {
      return null;
    }
    Matcher m = PROGRESS.matcher(Files.readString(log));
    long[] last = null;
    while (m.find()) {
      last = new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
    }
    return last;
  }
}
