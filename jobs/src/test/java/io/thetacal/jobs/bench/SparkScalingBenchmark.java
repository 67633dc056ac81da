package io.thetacal.jobs.bench;

import io.thetacal.jobs.ThetacalJobs;
import io.thetacal.jobs.calibrate.CalibrateResult;
import io.thetacal.jobs.calibrate.CalibrateTimings;
import io.thetacal.jobs.cluster.StandaloneCluster;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;
import org.apache.spark.sql.SparkSession;

/**
 * Spark scaling of {@code thetacal calibrate} on one ingested corpus: local[1], local[2] and a real
 * standalone cluster on 127.0.0.1 (a master and two workers of one core each, started by
 * {@link StandaloneCluster} as the integration tests start it; this JVM is the client-mode driver), in
 * rounds that rotate the three, medians with spreads. Reports the job's own measurements
 * ({@link CalibrateTimings}): capture time, driver-side merge and threshold derivation as a share of the
 * job, model loads in executor JVMs, tokens per partition; and the state size. Arguments: output
 * markdown, rounds, Europarl documents. System property {@code thetacal.jobs.module}: the jobs module
 * directory (default {@code jobs}, for a run from the repository root).
 */
public final class SparkScalingBenchmark {
  private static final String CLUSTER = "standalone 2 × 1 core";

  private SparkScalingBenchmark() {
  }

  static SparkSession session(String master, StandaloneCluster cluster) {
    SparkSession.Builder b = SparkSession.builder().appName("thetacal-bench")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1");
    if (master.equals(CLUSTER)) {
      List<String> jars = new ArrayList<>();
      jars.add(cluster.appJar().toString());
      cluster.shipJars().forEach(p -> jars.add(p.toString()));
      String threads = System.getProperty("thetacal.encoder.threads");
      String shared = System.getProperty("thetacal.shared.dir");
      b.master(cluster.masterUrl()).config("spark.jars", String.join(",", jars))
          .config("spark.executor.memory", "1g")
          .config("spark.executorEnv.OPENBLAS_NUM_THREADS", System.getenv().getOrDefault("OPENBLAS_NUM_THREADS", "1"))
          .config("spark.executor.extraJavaOptions", (threads == null ? "" : "-Dthetacal.encoder.threads=" + threads)
              + (shared == null ? "" : " -Dthetacal.shared.dir=" + shared));
    } else {
      b.master(master);
    }
    SparkSession s = b.getOrCreate();
    s.sparkContext().setLogLevel("WARN");
    return s;
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  static String stat(double[] v, String f) {
    double[] s = v.clone();
    Arrays.sort(s);
    return String.format(Locale.ROOT, f + " (" + f + " – " + f + ")", median(v), s[0], s[s.length - 1]);
  }

  static String load() throws Exception {
    return Files.readString(Path.of("/proc/loadavg")).trim();
  }

  static double load1() throws Exception {
    return Double.parseDouble(load().split("\\s+")[0]);
  }

  /**
   * Waits until the cluster's two executors have registered with this driver (the executor JVMs start with
   * each application); returns the seconds waited.
   */
  static double awaitExecutors(SparkSession s) throws InterruptedException {
    long t0 = System.nanoTime();
    long end = t0 + 300_000_000_000L;
    while (s.sparkContext().getExecutorMemoryStatus().size() < 3) { // two executors and the driver
      if (System.nanoTime() > end) {
        throw new IllegalStateException("The cluster's executors did not register in 300 s");
      }
      Thread.sleep(100);
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  /**
   * One measured run: the job's result, the 1-minute load average when it started, and the seconds spent
   * waiting for executors before it (cluster only).
   */
  record Run(CalibrateResult result, double load, double executorStart) {
    double seconds(ToDoubleFunction<CalibrateTimings> part) {
      return part.applyAsDouble(result.timings());
    }
  }

  static double sec(java.time.Duration d) {
    return d.toNanos() / 1e9;
  }

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "target/bench/spark.md");
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int docs = args.length > 2 ? Integer.parseInt(args[2]) : 600;
    String conf = String.format(Locale.ROOT, """
        model: {max_sequence_length: 128, batch_size: 8}
        corpora:
          - {name: ep-en, source: {type: europarl, language: en, max_docs: %d}}
        calibration: {datasets: [ep-en], holdout_sequences: 0}
        """, docs);
    ThetacalConfig config = ConfigLoader.fromYaml(conf, "bench", List.of());
    Path dir = Files.createTempDirectory("thetacal-bench-spark");
    String root = dir.resolve("out").toString();
    String loadBefore = load();
    SparkSession s0 = session("local[2]", null);
    ThetacalJobs.get(s0).ingest().config(config).outputRoot(root).execute();
    s0.stop();
    String[] masters = {"local[1]", "local[2]", CLUSTER};
    List<List<Run>> runs = new ArrayList<>();
    for (int m = 0; m < masters.length; m++) {
      runs.add(new ArrayList<>());
    }
    int v = 0;
    long clusterStart = System.nanoTime();
    try (StandaloneCluster cluster = new StandaloneCluster(Path.of(System.getProperty("thetacal.jobs.module", "jobs")),
        dir.resolve("cluster"), 2, 1)) {
      double clusterStartSeconds = (System.nanoTime() - clusterStart) / 1e9;
      // warm-up: JIT and the model in this JVM (the driver of every run, and local mode's executor)
      SparkSession w = session("local[2]", cluster);
      ThetacalJobs.get(w).calibrate().config(config).outputRoot(root).version("warm-up").execute();
      w.stop();
      for (int r = 0; r < rounds; r++) {
        for (int step = 0; step < masters.length; step++) {
          int m = (r + step) % masters.length;
          double l = load1();
          SparkSession s = session(masters[m], cluster);
          try {
            double executorStart = masters[m].equals(CLUSTER) ? awaitExecutors(s) : 0;
            CalibrateResult res = ThetacalJobs.get(s).calibrate().config(config).outputRoot(root)
                .version("v" + (v++)).execute();
            runs.get(m).add(new Run(res, l, executorStart));
          } finally {
            s.stop();
          }
        }
      }
      Files.createDirectories(out.toAbsolutePath().getParent());
      String md = report(runs, masters, docs, rounds, clusterStartSeconds, loadBefore);
      Files.writeString(out, md);
      System.out.print(md);
    }
    deleteTree(dir);
  }

  /** Removes the benchmark's corpus, thresholds and cluster directories (hundreds of MB). */
  static void deleteTree(Path dir) throws java.io.IOException {
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  static double[] each(List<Run> runs, ToDoubleFunction<Run> f) {
    return runs.stream().mapToDouble(f).toArray();
  }

  static String report(List<List<Run>> runs, String[] masters, int docs, int rounds, double clusterStartSeconds,
      String loadBefore) throws Exception {
    CalibrateResult last = runs.get(0).get(0).result();
    CalibrateTimings lt = last.timings();
    double[][] job = new double[masters.length][];
    double[][] capture = new double[masters.length][];
    for (int m = 0; m < masters.length; m++) {
      job[m] = each(runs.get(m), r -> sec(r.result().elapsed()));
      capture[m] = each(runs.get(m), r -> r.seconds(t -> sec(t.capture())));
    }
    double[] loads = runs.stream().flatMap(List::stream).mapToDouble(Run::load).toArray();
    StringBuilder md = new StringBuilder();
    md.append("## Spark scaling of the calibrate job\n\n");
    md.append(String.format(Locale.ROOT, "Corpus: Europarl English, %d documents ingested once, %d calibration "
        + "sequences (%d tokens, ≤ 128 per sequence), batch 8, model %s, job defaults otherwise (holdout check "
        + "off): %d partitions (`spark.partitions`), batches dealt longest first to the partition with the "
        + "fewest tokens, %d – %d tokens per partition. Encoder threads per task: %s (thetacal.encoder.threads; "
        + "with all cores, local[1] already uses both cores inside its one task). Three ways to run the same "
        + "job: local[1]; local[2]; a standalone cluster on 127.0.0.1 (master and two workers with one core "
        + "each, executors of 1 GB; this JVM is the client-mode driver; started in %.0f s, once). A fresh "
        + "SparkSession per run, one warm-up run (local[2]), then %d round(s) rotating the order of the three. "
        + "All times are the job's own measurements (CalibrateResult.elapsed and .timings). 1-minute load "
        + "average at the start of the runs: %s.%n%n",
        docs, last.sequences(), last.tokens(), last.modelId(), lt.partitions(), lt.minPartitionTokens(),
        lt.maxPartitionTokens(), System.getProperty("thetacal.encoder.threads", "all cores"), clusterStartSeconds,
        rounds, stat(loads, "%.1f")));
    md.append("| run | executor start (before the job), s | job wall time, s | capture, s | rest of the job, s | "
        + "model load in tasks, s | driver merge + thresholds, ms | tokens/s (job) |\n"
        + "|---|---|---|---|---|---|---|---|\n");
    for (int m = 0; m < masters.length; m++) {
      List<Run> rs = runs.get(m);
      double[] rest = each(rs, r -> sec(r.result().elapsed()) - r.seconds(t -> sec(t.capture())));
      double[] modelLoad = each(rs, r -> r.seconds(t -> sec(t.modelLoad())));
      double[] driver = each(rs, r -> r.seconds(t -> sec(t.driverSide())) * 1e3);
      double[] tps = each(rs, r -> r.result().tokens() / sec(r.result().elapsed()));
      md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s |%n", masters[m],
          stat(each(rs, Run::executorStart), "%.1f"), stat(job[m], "%.1f"), stat(capture[m], "%.1f"), stat(rest, "%.1f"), stat(modelLoad, "%.1f"),
          stat(driver, "%.0f"), stat(tps, "%.0f")));
    }
    double[][] speedup = new double[masters.length][rounds];
    double[][] captureSpeedup = new double[masters.length][rounds];
    for (int m = 1; m < masters.length; m++) {
      for (int r = 0; r < rounds; r++) {
        speedup[m][r] = job[0][r] / job[m][r];
        captureSpeedup[m][r] = capture[0][r] / capture[m][r];
      }
    }
    md.append(String.format(Locale.ROOT, "%n**Speedup local[2] / local[1], whole job, per round: %s** (goal ≥ 1.8x); "
        + "capture alone: %s.%n", stat(speedup[1], "%.2f"), stat(captureSpeedup[1], "%.2f")));
    md.append(String.format(Locale.ROOT, "%n**Speedup %s / local[1], whole job, per round: %s** (goal ≥ 1.8x); "
        + "capture alone: %s.%n", CLUSTER, stat(speedup[2], "%.2f"), stat(captureSpeedup[2], "%.2f")));
    md.append("\nExecutor start = for the cluster, from the SparkSession's creation until both executor JVMs "
        + "have registered (waited for before the job starts, so not in its time; a long-running application "
        + "pays it once). Capture = the Spark job that runs every batch through the model and tree-merges the partition "
        + "states (for the cluster it includes starting the model in each new executor JVM). Rest of the job = "
        + "counting sequences by length, threshold tables, writing and publishing the versions, and the "
        + "SparkSession's first jobs. Model load in tasks = task time spent obtaining the model (load and the "
        + "warm-up passes until its scores are bitwise stable), summed over tasks: zero in local mode, where "
        + "the driver JVM already holds it; on the cluster each of the two executors loads it once, in parallel.\n");
    String shares = Arrays.stream(masters).map(name -> {
      List<Run> rs = runs.get(Arrays.asList(masters).indexOf(name));
      return name + " " + stat(each(rs, r -> 100 * r.result().driverShare()), "%.2f") + " %";
    }).collect(Collectors.joining("; "));
    double[] mergeMs = runs.stream().flatMap(List::stream).mapToDouble(r -> r.seconds(t -> sec(t.driverMerge())) * 1e3)
        .toArray();
    double[] thresholdMs = runs.stream().flatMap(List::stream)
        .mapToDouble(r -> r.seconds(t -> sec(t.thresholds())) * 1e3).toArray();
    md.append(String.format(Locale.ROOT, "%n**Driver side (final merge of the partial states + threshold derivation) "
        + "as a share of the job, measured inside it: %s** (goal ≤ 2 %%). Over all runs: merge %s ms "
        + "(deserializing and merging the partial states the depth-2 tree aggregation hands the driver, and "
        + "deserializing the result), threshold tables %s ms (both placements).%n", shares,
        stat(mergeMs, "%.0f"), stat(thresholdMs, "%.0f")));
    md.append(String.format(Locale.ROOT, "%nState: %d bytes (%.1f MB) serialized, the same for any corpus and "
        + "partitioning. Load average before: %s; after: %s.%n%n", last.stateBytes(), last.stateBytes() / 1e6,
        loadBefore, load()));
    return md.toString();
  }
}
