package io.thetacal.jobs.bench;

import io.thetacal.jobs.ThetacalJobs;
import io.thetacal.jobs.calibrate.CalibrateResult;
import io.thetacal.jobs.calibrate.CalibrateTimings;
import io.thetacal.jobs.cluster.StandaloneCluster;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.spark.ExecutorModels;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;

/**
 * Spark scaling of {@code thetacal calibrate} on one ingested corpus: local[1], local[2] and a real
 * standalone cluster on 127.0.0.1 (a master and two workers of one core each, started by
 * {@link StandaloneCluster} as the integration tests start it; this JVM is the client-mode driver), in
 * rounds that rotate the three, medians with spreads. Every point runs in a fresh SparkSession that first
 * runs a small calibrate job (its fixed costs: executor JVMs, model load and warm-up, the JIT), then the
 * measured job on the whole corpus, so that the three points compare like with like; the fixed costs are
 * reported separately, measured. Reports the job's own measurements ({@link CalibrateTimings}): capture
 * time, driver-side merge and threshold derivation as a share of the job, model loads per executor JVM
 * (from the executors' logs), CPU time of the driver and the executors; and the state size. Arguments:
 * output markdown, rounds, Europarl documents, sequences of the warm-up job. System property
 * {@code thetacal.jobs.module}: the jobs module directory (default {@code jobs}, for a run from the
 * repository root); {@code thetacal.bench.executorJavaOptions}: more options for the cluster's executor
 * JVMs (a profiler agent, GC logging); {@code thetacal.bench.partitions}: the jobs' {@code spark.partitions}
 * (default: the job's default).
 */
public final class SparkScalingBenchmark {
  private static final String CLUSTER = "standalone 2 × 1 core";
  private static final Pattern LOADED = Pattern.compile(
      "loaded model \\S+ .* in ([0-9.]+) s; stable after (\\d+) warm-up passes in ([0-9.]+) s");

  private SparkScalingBenchmark() {
  }

  /** Spark settings of the cluster's application besides master and jars. */
  static final List<String[]> CLUSTER_SETTINGS = List.of(
      new String[] {"spark.executor.memory", "1g"},
      // the capture's shuffle reads prefer the executor holding most map output; with one core per
      // executor, waiting for it leaves the other core idle
      new String[] {"spark.locality.wait", "0s"},
      new String[] {"spark.dynamicAllocation.enabled", "false"});

  /**
   * Spark's own task metrics for the stage of the capture job that runs the model (the stage of job group
   * {@code thetacal-calibrate-capture} with the most task time): each executor's tasks, run and CPU
   * seconds. Shows whether one executor JVM ran the same work slower than the other.
   */
  static final class CaptureTasks extends SparkListener {
    private final java.util.Set<Integer> captureStages = ConcurrentHashMap.newKeySet();
    private final Map<Integer, Map<String, List<double[]>>> byStage = new ConcurrentHashMap<>();

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted e) {
      java.util.Properties p = e.properties();
      if (p != null && "thetacal-calibrate-capture".equals(p.getProperty("spark.jobGroup.id"))) {
        captureStages.add(e.stageInfo().stageId());
      }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
      if (captureStages.contains(e.stageId()) && e.taskMetrics() != null && e.taskInfo().successful()) {
        byStage.computeIfAbsent(e.stageId(), k -> new ConcurrentHashMap<>())
            .computeIfAbsent(e.taskInfo().executorId(), k -> java.util.Collections.synchronizedList(new ArrayList<>()))
            .add(new double[] {e.taskMetrics().executorRunTime() / 1e3, e.taskMetrics().executorCpuTime() / 1e9});
        System.err.printf(Locale.ROOT, "capture task: partition %d on %s: %.2f s (CPU %.2f s)%n", e.taskInfo().index(),
            e.taskInfo().executorId(), e.taskMetrics().executorRunTime() / 1e3, e.taskMetrics().executorCpuTime() / 1e9);
      }
    }

    /** Executor id → (run s, CPU s) of each task of the model stage, sorted by executor id. */
    Map<String, List<double[]>> modelStage() {
      Map<String, List<double[]>> best = Map.of();
      double most = -1;
      for (Map<String, List<double[]>> stage : byStage.values()) {
        double total = stage.values().stream().flatMap(List::stream).mapToDouble(t -> t[0]).sum();
        if (total > most) {
          most = total;
          best = stage;
        }
      }
      return new java.util.TreeMap<>(best);
    }

    /** Waits (the listener bus is asynchronous) until the model stage reported {@code tasks} tasks. */
    Map<String, List<double[]>> modelStage(int tasks) throws InterruptedException {
      long end = System.nanoTime() + 30_000_000_000L;
      while (modelStage().values().stream().mapToInt(List::size).sum() < tasks && System.nanoTime() < end) {
        Thread.sleep(50);
      }
      return modelStage();
    }

    /** "exec 0: 4 × 26.1 s (CPU 25.6 s); exec 1: ..." with the median task of each executor. */
    static String describe(Map<String, List<double[]>> stage) {
      return stage.entrySet().stream().map(e -> String.format(Locale.ROOT, "%s: %d × %.1f s (CPU %.1f s)",
          e.getKey().equals("driver") ? "driver" : "exec " + e.getKey(), e.getValue().size(),
          median(e.getValue().stream().mapToDouble(t -> t[0]).toArray()),
          median(e.getValue().stream().mapToDouble(t -> t[1]).toArray()))).collect(Collectors.joining("; "));
    }
  }

  /** bin/thetacal's Spark settings (conf/spark-defaults.conf), so that the benchmark runs what users run. */
  static java.util.Properties sparkDefaults() throws java.io.IOException {
    Path module = Path.of(System.getProperty("thetacal.jobs.module", "jobs"));
    java.util.Properties p = new java.util.Properties();
    try (var in = Files.newBufferedReader(module.resolve("../conf/spark-defaults.conf"))) {
      p.load(in);
    }
    return p;
  }

  static SparkSession session(String master, StandaloneCluster cluster) throws java.io.IOException {
    SparkSession.Builder b = SparkSession.builder().appName("thetacal-bench");
    sparkDefaults().forEach((k, v) -> b.config(k.toString(), v.toString().trim()));
    b.config("spark.ui.enabled", "false");
    if (master.equals(CLUSTER)) {
      List<String> jars = new ArrayList<>();
      jars.add(cluster.appJar().toString());
      cluster.shipJars().forEach(p -> jars.add(p.toString()));
      String threads = System.getProperty("thetacal.encoder.threads");
      String shared = System.getProperty("thetacal.shared.dir");
      b.master(cluster.masterUrl()).config("spark.jars", String.join(",", jars))
          .config("spark.executorEnv.OPENBLAS_NUM_THREADS", System.getenv().getOrDefault("OPENBLAS_NUM_THREADS", "1"))
          .config("spark.executor.extraJavaOptions", (threads == null ? "" : "-Dthetacal.encoder.threads=" + threads)
              + (shared == null ? "" : " -Dthetacal.shared.dir=" + shared) + " "
              + System.getProperty("thetacal.bench.executorJavaOptions", ""));
      CLUSTER_SETTINGS.forEach(kv -> b.config(kv[0], kv[1]));
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
    if (s.length == 1) {
      return String.format(Locale.ROOT, f, s[0]);
    }
    return String.format(Locale.ROOT, f + " (" + f + " – " + f + ")", median(v), s[0], s[s.length - 1]);
  }

  static String load() throws Exception {
    return Files.readString(Path.of("/proc/loadavg")).trim();
  }

  static double load1() throws Exception {
    return Double.parseDouble(load().split("\\s+")[0]);
  }

  /** CPU seconds of this process so far. */
  static double processCpu() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime() / 1e9;
  }

  /** CPU seconds the cluster's current executor JVMs have used so far (0 without a cluster). */
  static double executorCpu(StandaloneCluster cluster) {
    return cluster == null ? 0 : cluster.executors().stream()
        .mapToDouble(h -> h.info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(0.0)).sum();
  }

  /** The header of a table with one column per round. */
  private static String roundsHeader(int rounds) {
    return "| run | " + java.util.stream.IntStream.rangeClosed(1, rounds).mapToObj(r -> "round " + r)
        .collect(Collectors.joining(" | ")) + " |\n|---|" + "---|".repeat(rounds) + "\n";
  }

  /** A row of a {@link #roundsHeader} table: the run's name, then one cell per round. */
  private static String roundsRow(String run, java.util.stream.Stream<String> cells) {
    return "| " + run + " | " + cells.collect(Collectors.joining(" | ")) + " |\n";
  }

  /** Thread groups of {@link #threadCpu}, in its order. */
  static final List<String> THREAD_GROUPS = List.of("task threads", "JIT compiler", "garbage collector", "other");

  /**
   * CPU seconds per thread (Linux's /proc: thread id → {group, seconds}) of the JVMs that run tasks: the
   * cluster's executors, or this JVM in local mode. Groups by thread name: Spark's task threads, the JIT's
   * compiler threads, the garbage collector's threads, the rest; key −pid holds each process's threads that
   * have exited (the process total minus its live threads).
   */
  static Map<Long, double[]> threadCpu(StandaloneCluster cluster) throws java.io.IOException {
    List<Long> pids = cluster == null ? List.of(ProcessHandle.current().pid())
        : cluster.executors().stream().map(ProcessHandle::pid).toList();
    Map<Long, double[]> out = new java.util.HashMap<>();
    for (long pid : pids) {
      Path proc = Path.of("/proc", Long.toString(pid));
      double live = 0;
      List<Path> tasks;
      try (var ts = Files.list(proc.resolve("task"))) {
        tasks = ts.toList();
      } catch (java.nio.file.NoSuchFileException e) {
        continue;
      }
      for (Path t : tasks) {
        try {
          String name = Files.readString(t.resolve("comm")).trim();
          double sec = statCpu(Files.readString(t.resolve("stat")));
          int group = name.startsWith("Executor task") ? 0 : name.contains("CompilerThre") ? 1
              : name.startsWith("GC Thread") || name.startsWith("G1 ") ? 2 : 3;
          out.put(Long.parseLong(t.getFileName().toString()), new double[] {group, sec});
          live += sec;
        } catch (java.nio.file.NoSuchFileException e) {
          // the thread exited while listed: its time is in the process's
        }
      }
      out.put(-pid, new double[] {3, statCpu(Files.readString(proc.resolve("stat"))) - live});
    }
    return out;
  }

  /** utime + stime of a /proc stat line, in seconds (Linux's USER_HZ, 100 ticks per second). */
  private static double statCpu(String stat) {
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
  }

  /**
   * CPU seconds per {@link #THREAD_GROUPS} group between two {@link #threadCpu} snapshots. A thread that
   * exited in between took its whole time into its process's exited-threads entry; its time before the
   * first snapshot is taken off again, so that what it used in between counts, as "other".
   */
  static double[] threadCpuDelta(Map<Long, double[]> before, Map<Long, double[]> after) {
    double[] d = new double[THREAD_GROUPS.size()];
    after.forEach((tid, v) -> d[(int) v[0]] += v[1] - before.getOrDefault(tid, new double[] {v[0], 0})[1]);
    before.forEach((tid, v) -> {
      if (tid > 0 && !after.containsKey(tid)) {
        d[THREAD_GROUPS.size() - 1] -= v[1];
      }
    });
    return d;
  }

  /**
   * Waits until the cluster's two executors have registered with this driver (the executor JVMs start with
   * each application).
   */
  static void awaitExecutors(SparkSession s) throws InterruptedException {
    long end = System.nanoTime() + 300_000_000_000L;
    while (s.sparkContext().getExecutorMemoryStatus().size() < 3) { // two executors and the driver
      if (System.nanoTime() > end) {
        throw new IllegalStateException("The cluster's executors did not register in 300 s");
      }
      Thread.sleep(100);
    }
  }

  /** One model load in an executor JVM, from its log: load and warm-up seconds, warm-up passes. */
  record ModelLoad(double loadSeconds, int passes, double warmUpSeconds) {
  }

  /**
   * The model loads each executor JVM of application {@code appId} logged (one list per executor), from
   * the executors' stderr under the workers' directories.
   */
  static List<List<ModelLoad>> executorModelLoads(Path clusterDir, String appId) throws Exception {
    List<List<ModelLoad>> out = new ArrayList<>();
    try (var dirs = Files.list(clusterDir)) {
      for (Path work : dirs.filter(p -> p.getFileName().toString().startsWith("work-")).sorted().toList()) {
        Path app = work.resolve(appId);
        if (!Files.isDirectory(app)) {
          continue;
        }
        try (var execs = Files.list(app)) {
          for (Path exec : execs.sorted().toList()) {
            Path log = exec.resolve("stderr");
            if (!Files.exists(log)) {
              continue;
            }
            List<ModelLoad> loads = new ArrayList<>();
            for (String line : Files.readAllLines(log)) {
              Matcher m = LOADED.matcher(line);
              if (m.find()) {
                loads.add(new ModelLoad(Double.parseDouble(m.group(1)), Integer.parseInt(m.group(2)),
                    Double.parseDouble(m.group(3))));
              }
            }
            out.add(loads);
          }
        }
      }
    }
    return out;
  }

  /**
   * One point of one round: application start (SparkSession and, on the cluster, both executors
   * registered), the warm-up job (the application's first), the measured job, the CPU time the driver and
   * the executors used during the measured job, the 1-minute load average at the start, and the model
   * loads per executor JVM (cluster only).
   */
  record Run(double appStart, CalibrateResult warmUp, CalibrateResult result, double cpu, double load,
      List<List<ModelLoad>> modelLoads, Map<String, List<double[]>> captureTasks, double[] threadCpu) {
    double seconds(ToDoubleFunction<CalibrateTimings> part) {
      return part.applyAsDouble(result.timings());
    }

    /** Application start, warm-up job and measured job: what a fresh application running both takes. */
    double coldSeconds() {
      return appStart + sec(warmUp.elapsed()) + sec(result.elapsed());
    }
  }

  static double sec(Duration d) {
    return d.toNanos() / 1e9;
  }

  /** {@code thetacal.bench.partitions}: the jobs' {@code spark.partitions} instead of the default. */
  private static final String PARTITIONS = System.getProperty("thetacal.bench.partitions");

  static ThetacalConfig config(int docs, int maxSequences) {
    return ConfigLoader.fromYaml(String.format(Locale.ROOT, """
        model: {max_sequence_length: 128, batch_size: 8}
        corpora:
          - {name: ep-en, source: {type: europarl, language: en, max_docs: %d}}
        calibration: {datasets: [ep-en], holdout_sequences: 0, depth_correction_sequences: 0, max_sequences: %d}
        %s""", docs, maxSequences, PARTITIONS == null ? "" : "spark: {partitions: " + PARTITIONS + "}\n"),
        "bench", List.of());
  }

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "target/bench/spark.md");
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int docs = args.length > 2 ? Integer.parseInt(args[2]) : 1500;
    int warmUpSequences = args.length > 3 ? Integer.parseInt(args[3]) : 160;
    ThetacalConfig config = config(docs, 0);
    ThetacalConfig warmUp = config(docs, warmUpSequences);
    Path dir = Files.createTempDirectory("thetacal-bench-spark");
    String root = dir.resolve("out").toString();
    String loadBefore = load();
    long t0 = System.nanoTime();
    ExecutorModels.model(config.model().id());
    double driverModelLoad = (System.nanoTime() - t0) / 1e9;
    SparkSession s0 = session("local[2]", null);
    t0 = System.nanoTime();
    ThetacalJobs.get(s0).ingest().config(config).outputRoot(root).execute();
    double ingestSeconds = (System.nanoTime() - t0) / 1e9;
    // JIT warm-up of this JVM (the driver of every run, and local mode's executor)
    ThetacalJobs.get(s0).calibrate().config(config(docs, 3 * warmUpSequences)).outputRoot(root).version("warm-up")
        .execute();
    s0.stop();
    String[] masters = {"local[1]", "local[2]", CLUSTER};
    List<List<Run>> runs = new ArrayList<>();
    for (int m = 0; m < masters.length; m++) {
      runs.add(new ArrayList<>());
    }
    int v = 0;
    long clusterStart = System.nanoTime();
    Path clusterDir = dir.resolve("cluster");
    try (StandaloneCluster cluster = new StandaloneCluster(Path.of(System.getProperty("thetacal.jobs.module", "jobs")),
        clusterDir, 2, 1)) {
      double clusterStartSeconds = (System.nanoTime() - clusterStart) / 1e9;
      for (int r = 0; r < rounds; r++) {
        for (int step = 0; step < masters.length; step++) {
          int m = (r + step) % masters.length;
          boolean onCluster = masters[m].equals(CLUSTER);
          double l = load1();
          long a0 = System.nanoTime();
          StandaloneCluster executors = onCluster ? cluster : null;
          SparkSession s = session(masters[m], executors);
          try {
            if (onCluster) {
              awaitExecutors(s);
            }
            double appStart = (System.nanoTime() - a0) / 1e9;
            CalibrateResult w = ThetacalJobs.get(s).calibrate().config(warmUp).outputRoot(root)
                .version("w" + v).execute();
            CaptureTasks tasks = new CaptureTasks();
            s.sparkContext().addSparkListener(tasks);
            double cpu0 = processCpu() + executorCpu(executors);
            Map<Long, double[]> threads0 = threadCpu(executors);
            CalibrateResult res = ThetacalJobs.get(s).calibrate().config(config).outputRoot(root)
                .version("v" + (v++)).execute();
            double cpu = processCpu() + executorCpu(executors) - cpu0;
            double[] threads = threadCpuDelta(threads0, threadCpu(executors));
            List<List<ModelLoad>> loads = onCluster
                ? executorModelLoads(clusterDir, s.sparkContext().applicationId()) : List.of();
            runs.get(m).add(new Run(appStart, w, res, cpu, l, loads, tasks.modelStage(res.timings().partitions()),
                threads));
          } finally {
            s.stop();
          }
        }
      }
      Files.createDirectories(out.toAbsolutePath().getParent());
      String md = report(runs, masters, docs, rounds, clusterStartSeconds, loadBefore, driverModelLoad,
          ingestSeconds, warmUpSequences);
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
      String loadBefore, double driverModelLoad, double ingestSeconds, int warmUpSequences) throws Exception {
    CalibrateResult last = runs.get(0).get(0).result();
    CalibrateTimings lt = last.timings();
    double[][] job = new double[masters.length][];
    double[][] capture = new double[masters.length][];
    double[][] cold = new double[masters.length][];
    for (int m = 0; m < masters.length; m++) {
      job[m] = each(runs.get(m), r -> sec(r.result().elapsed()));
      capture[m] = each(runs.get(m), r -> r.seconds(t -> sec(t.capture())));
      cold[m] = each(runs.get(m), Run::coldSeconds);
    }
    double[] loads = runs.stream().flatMap(List::stream).mapToDouble(Run::load).toArray();
    StringBuilder md = new StringBuilder();
    md.append("## Spark scaling of the calibrate job\n\n");
    md.append(String.format(Locale.ROOT, "Corpus: Europarl English, %d documents (ingested once, in %.0f s), %d "
        + "calibration sequences (%d tokens, ≤ 128 per sequence), batch 8, model %s, job defaults otherwise "
        + "(holdout check and depth correction off: passes over fixed samples (by default 64 and 32 sequences, whatever the corpus) that would add the same time to every point): %d partitions (`spark.partitions`), batches dealt longest first to the partition "
        + "with the fewest tokens, %d – %d tokens per partition. Encoder threads per task: %s "
        + "(thetacal.encoder.threads; with all cores, local[1] already uses both cores inside its one task). "
        + "Three ways to run the same job on the same corpus: local[1]; local[2]; a standalone cluster on "
        + "127.0.0.1 (master and two workers with one core each, executors of 1 GB, `spark.locality.wait=0s`, "
        + "dynamic allocation off; this JVM is the client-mode driver; master and workers started in %.0f s, "
        + "once). Each point is a fresh SparkSession (for the cluster: a new application with new executor "
        + "JVMs) that first runs a warm-up calibrate of %d sequences of the corpus (`calibration.max_sequences`; "
        + "the application's fixed costs: executor JVMs, model load and warm-up in each, the JIT) and then the "
        + "measured calibrate of the whole corpus; %d round(s) rotating the order of the three. All times are "
        + "the job's own measurements (CalibrateResult.elapsed and .timings); Spark settings: bin/thetacal's "
        + "(conf/spark-defaults.conf: Kryo serializer, 8 SQL shuffle partitions). 1-minute load average at the "
        + "start of the points: %s.%n%n",
        docs, ingestSeconds, last.sequences(), last.tokens(), last.modelId(), lt.partitions(),
        lt.minPartitionTokens(), lt.maxPartitionTokens(), System.getProperty("thetacal.encoder.threads", "all cores"),
        clusterStartSeconds, warmUpSequences, rounds, stat(loads, "%.1f")));
    md.append("Measured job (the whole corpus, in a warmed-up application):\n\n");
    md.append("| run | job wall time, s | capture, s | rest of the job, s | driver merge + thresholds, ms "
        + "| driver share of the job, % | CPU (driver + executors), s | tokens/s (job) |\n"
        + "|---|---|---|---|---|---|---|---|\n");
    for (int m = 0; m < masters.length; m++) {
      List<Run> rs = runs.get(m);
      double[] rest = each(rs, r -> sec(r.result().elapsed()) - r.seconds(t -> sec(t.capture())));
      double[] driver = each(rs, r -> r.seconds(t -> sec(t.driverSide())) * 1e3);
      double[] share = each(rs, r -> 100 * r.result().driverShare());
      double[] tps = each(rs, r -> r.result().tokens() / sec(r.result().elapsed()));
      md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s |%n", masters[m],
          stat(job[m], "%.1f"), stat(capture[m], "%.1f"), stat(rest, "%.1f"), stat(driver, "%.0f"),
          stat(share, "%.2f"), stat(each(rs, Run::cpu), "%.1f"), stat(tps, "%.0f")));
    }
    md.append("\nFixed costs, paid once per application (before or in its first job):\n\n");
    md.append("| run | application start, s | warm-up job (first job), s | model load in tasks during it, s "
        + "| model loads per executor JVM | load + warm-up passes per executor JVM, s |\n"
        + "|---|---|---|---|---|---|\n");
    for (int m = 0; m < masters.length; m++) {
      List<Run> rs = runs.get(m);
      String perJvm;
      String count;
      if (masters[m].equals(CLUSTER)) {
        count = rs.stream().map(r -> r.modelLoads().stream().map(l -> String.valueOf(l.size()))
            .collect(Collectors.joining(", "))).collect(Collectors.joining("; "));
        double[] total = rs.stream().flatMap(r -> r.modelLoads().stream()).flatMap(List::stream)
            .mapToDouble(l -> l.loadSeconds() + l.warmUpSeconds()).toArray();
        perJvm = total.length == 0 ? "no `loaded model` line in the executors' logs" : stat(total, "%.1f");
        double[] split = rs.stream().flatMap(r -> r.modelLoads().stream()).flatMap(List::stream)
            .flatMapToDouble(l -> java.util.stream.DoubleStream.of(l.loadSeconds())).toArray();
        double[] passes = rs.stream().flatMap(r -> r.modelLoads().stream()).flatMap(List::stream)
            .mapToDouble(ModelLoad::passes).toArray();
        if (split.length > 0) {
          perJvm += String.format(Locale.ROOT, " (load %s, then %s warm-up passes)", stat(split, "%.1f"),
              stat(passes, "%.0f"));
        }
      } else {
        count = "0 (the driver JVM's)";
        perJvm = String.format(Locale.ROOT, "%.1f, once in the driver JVM", driverModelLoad);
      }
      md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s |%n", masters[m],
          stat(each(rs, Run::appStart), "%.1f"), stat(each(rs, r -> sec(r.warmUp().elapsed())), "%.1f"),
          stat(each(rs, r -> sec(r.warmUp().timings().modelLoad())), "%.1f"), count, perJvm));
    }
    md.append("\nTasks of the capture job's model stage, from Spark's task metrics (per round: each executor's "
        + "tasks × the median task's run time, and its CPU time; local mode's tasks run in the driver):\n\n");
    md.append(roundsHeader(rounds));
    for (int m = 0; m < masters.length; m++) {
      md.append(roundsRow(masters[m], runs.get(m).stream().map(r -> CaptureTasks.describe(r.captureTasks()))));
    }
    md.append("\nCPU of the JVMs that ran the tasks (the executors; in local mode this JVM, the driver too) during "
        + "the measured job, by thread (per round, seconds; from Linux's /proc; \"other\" includes Spark's own "
        + "threads and threads that exited):\n\n");
    md.append(roundsHeader(rounds));
    for (int m = 0; m < masters.length; m++) {
      md.append(roundsRow(masters[m], runs.get(m).stream()
          .map(r -> java.util.stream.IntStream.range(0, THREAD_GROUPS.size()).mapToObj(g -> String.format(
              Locale.ROOT, "%s %.1f", THREAD_GROUPS.get(g), r.threadCpu()[g])).collect(Collectors.joining(", ")))));
    }
    double[][] speedup = new double[masters.length][rounds];
    double[][] captureSpeedup = new double[masters.length][rounds];
    double[][] coldSpeedup = new double[masters.length][rounds];
    for (int m = 1; m < masters.length; m++) {
      for (int r = 0; r < rounds; r++) {
        speedup[m][r] = job[0][r] / job[m][r];
        captureSpeedup[m][r] = capture[0][r] / capture[m][r];
        coldSpeedup[m][r] = cold[0][r] / cold[m][r];
      }
    }
    for (int m = 1; m < masters.length; m++) {
      md.append(String.format(Locale.ROOT, "%n**Speedup %s / local[1], whole job: %s** (goal ≥ 1.8x); capture "
          + "phase alone: %s; with the application's fixed costs (application start + warm-up job + job): %s.%n",
          masters[m], stat(speedup[m], "%.2f"), stat(captureSpeedup[m], "%.2f"), stat(coldSpeedup[m], "%.2f")));
    }
    md.append("\nPer round, the measured job's wall time, s, and its speedup over the same round's local[1] (the "
        + "rounds rotate the order of the three; this host's speed drifts between and within them):\n\n");
    md.append(roundsHeader(rounds));
    for (int m = 0; m < masters.length; m++) {
      int mm = m;
      md.append(roundsRow(masters[m], java.util.stream.IntStream.range(0, rounds)
          .mapToObj(r -> mm == 0 ? String.format(Locale.ROOT, "%.1f", job[mm][r])
              : String.format(Locale.ROOT, "%.1f (%.2fx)", job[mm][r], speedup[mm][r]))));
    }
    md.append("\nCapture = the Spark job that runs every batch through the model and tree-merges the partition "
        + "states. Rest of the job = counting sequences by length, threshold tables, writing and publishing "
        + "the versions. CPU = this JVM's process CPU time during the measured job, plus the executor JVMs' "
        + "for the cluster (well under the wall time × the cores in use: the run waited for cores that "
        + "other work held). Application start = from creating the SparkSession until it (on the cluster: both "
        + "executor JVMs) is ready. Model loads per executor JVM = the `loaded model` lines in each executor's "
        + "log for the application (per round, one number per executor): each executor JVM loads the model "
        + "once and keeps it for the measured job; the model load in tasks of the measured job is zero. "
        + "Local mode runs in this JVM, which loaded the model once before all rounds.\n");
    double[] mergeMs = runs.stream().flatMap(List::stream).mapToDouble(r -> r.seconds(t -> sec(t.driverMerge())) * 1e3)
        .toArray();
    double[] thresholdMs = runs.stream().flatMap(List::stream)
        .mapToDouble(r -> r.seconds(t -> sec(t.thresholds())) * 1e3).toArray();
    String shares = Arrays.stream(masters).map(name -> {
      List<Run> rs = runs.get(Arrays.asList(masters).indexOf(name));
      return name + " " + stat(each(rs, r -> 100 * r.result().driverShare()), "%.2f") + " %";
    }).collect(Collectors.joining("; "));
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
