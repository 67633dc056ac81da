package io.thetacal.bench;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.Models;
import io.thetacal.model.TransformerModel;
import io.thetacal.model.bert.BertEncoder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The machine's own ceiling for the Spark scaling goal: how much of one core's calibration throughput each
 * core keeps when both calibrate at once. One child JVM calibrates alone with one encoder thread (the
 * calibrate job's per-task work: top-k at calibration for every placement and k of the job's grid on
 * batches of 8 sequences of 20 to 128 tokens, a CalibrationState observing), then two identical child JVMs
 * run side by side, then one JVM runs the work on two threads sharing one model.
 * No Spark, no shared heap, no shared JIT or GC: what is left is the hardware (shared caches, memory
 * bandwidth, the clock both busy cores run at). Arguments: output markdown, rounds, seconds per run.
 */
public final class CoreScalingProbe {

  private CoreScalingProbe() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("child")) {
      child(Double.parseDouble(args[1]), Integer.parseInt(args[2]));
      return;
    }
    Path out = Path.of(args.length > 0 ? args[0] : "target/bench/cores.md");
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    double seconds = args.length > 2 ? Double.parseDouble(args[2]) : 40;
    double[] alone = new double[rounds];
    double[] pair = new double[rounds];
    double[] ratio = new double[rounds];
    double[] shared = new double[rounds];
    double[] sharedRatio = new double[rounds];
    String loadBefore = Bench.loadavg();
    for (int r = 0; r < rounds; r++) {
      alone[r] = run(1, 1, seconds).get(0);
      List<Double> two = run(2, 1, seconds);
      pair[r] = two.get(0) + two.get(1);
      ratio[r] = pair[r] / alone[r];
      shared[r] = run(1, 2, seconds).get(0);
      sharedRatio[r] = shared[r] / alone[r];
      System.err.printf(Locale.ROOT, "round %d: alone %.0f tokens/s, two JVMs side by side %.0f + %.0f, one JVM"
          + " with two threads sharing the model %.0f%n", r + 1, alone[r], two.get(0), two.get(1), shared[r]);
    }
    Bench.Stat a = Bench.Stat.of(alone);
    Bench.Stat p = Bench.Stat.of(pair);
    Bench.Stat q = Bench.Stat.of(ratio);
    Bench.Stat sh = Bench.Stat.of(shared);
    Bench.Stat shq = Bench.Stat.of(sharedRatio);
    String md = String.join("\n",
        "## Two cores: how far the calibration work itself scales, without Spark",
        "",
        "Child JVMs each calibrating with one encoder thread (the calibrate job's per-task work: top-k at",
        "calibration for both placements and every k of the default grid below the batch's length, batches of",
        "8 sequences of real English text cut in turn to 20, 33, 47, 61, 77, 90, 105 and 128 tokens (rows of",
        "many lengths, so many row-length buckets of the state, as in the job), a CalibrationState observing;",
        "tokens/s counts each batch once, calibrated; " + (int) seconds + " s measured after a 10 s warm-up):",
        "one alone, then two side by side, then one JVM running the same work on two threads that share one model",
        "(each with its own state), as two Spark tasks in one executor JVM (local[2]) do. " + rounds
            + " round(s). Load average before: " + loadBefore
            + "; after: " + Bench.loadavg() + ".",
        "",
        "| | tokens/s |",
        "|---|---:|",
        "| one JVM alone | " + a.fmt("%.0f") + " |",
        "| two JVMs side by side, sum | " + p.fmt("%.0f") + " |",
        "| one JVM, two threads sharing the model | " + sh.fmt("%.0f") + " |",
        "",
        "**Two-core ceiling: two JVMs side by side / one alone = " + q.fmt("%.2f") + "** (the Spark scaling goal"
            + " is ≥ 1.8; the two share no Spark, JIT, GC or heap: what is left is the hardware's, caches and memory"
            + " bandwidth shared by two calibration states).",
        "",
        "**One JVM, two threads sharing the model / one alone = " + shq.fmt("%.2f") + "** (what two tasks in one"
            + " JVM can reach before any Spark cost: the heap, the garbage collector and the JIT are shared).",
        "");
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, md + "\n");
    System.out.println(md);
  }

  /** Starts n child JVMs at once, each calibrating on {@code threads} threads; returns each one's tokens/s. */
  private static List<Double> run(int n, int threads, double seconds) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.add("-D" + BertEncoder.THREADS_PROPERTY + "=1");
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), CoreScalingProbe.class.getName(),
        "child", Double.toString(seconds), Integer.toString(threads)));
    List<Process> ps = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
      pb.environment().put("OPENBLAS_NUM_THREADS", "1");
      ps.add(pb.start());
    }
    List<Double> rates = new ArrayList<>();
    for (Process p : ps) {
      String last = null;
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
          StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          last = line;
        }
      }
      if (p.waitFor() != 0 || last == null || !last.startsWith("tokens/s ")) {
        throw new IllegalStateException("probe child exited " + p.exitValue() + ", last line: " + last);
      }
      rates.add(Double.parseDouble(last.substring("tokens/s ".length())));
    }
    return rates;
  }

  /**
   * Calibrates with {@code threads} threads sharing one model (each its own state, as concurrent Spark tasks
   * in one executor JVM) and prints their summed tokens/s.
   */
  private static void child(double seconds, int threads) throws Exception {
    try (TransformerModel model = Models.load(Models.DEFAULT_ID)) {
      List<int[]> batch = EncoderCalibrationBenchmark.windows(model, 8);
      CalibrationConfig cc = EncoderCalibrationBenchmark.jobConfig().withHistogramsPerK(true);
      long warm = System.nanoTime() + 10_000_000_000L;
      long end = warm + (long) (seconds * 1e9);
      double[] rates = new double[threads];
      List<Thread> ts = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        ts.add(new Thread(() -> rates[id] = calibrate(model, batch, cc, warm, end), "probe-" + t));
      }
      ts.forEach(Thread::start);
      for (Thread t : ts) {
        t.join();
      }
      System.out.printf(Locale.ROOT, "tokens/s %.3f%n", java.util.Arrays.stream(rates).sum());
    }
  }

  /**
   * Calibrates batch after batch, the batch cut in turn to each of eight lengths, until end; tokens/s from
   * warm on (each batch counted once).
   */
  private static double calibrate(TransformerModel model, List<int[]> batch, CalibrationConfig cc, long warm,
      long end) {
    CalibrationState state = new CalibrationState(CalibrationGeometry.of(model.info()), cc);
    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long tokens = 0;
    long batches = 0;
    long alloc0 = 0;
    long start = 0;
    boolean measuring = false;
    int[] lens = {20, 33, 47, 61, 77, 90, 105, 128};
    int it = 0;
    while (true) {
      int len = lens[it++ % lens.length];
      List<int[]> b = batch.stream().map(x -> java.util.Arrays.copyOf(x, len)).toList();
      long now = System.nanoTime();
      if (!measuring && now >= warm) {
        measuring = true;
        start = now;
        tokens = 0;
        batches = 0;
        alloc0 = mx.getCurrentThreadAllocatedBytes();
      }
      if (now >= end) {
        double rate = tokens / ((now - start) / 1e9);
        // a JVM whose JIT left vector code boxed allocates about 100 bytes per vector operation
        System.err.printf(Locale.ROOT, "probe thread: %.0f tokens/s, %.1f MB allocated per batch%n", rate,
            (mx.getCurrentThreadAllocatedBytes() - alloc0) / 1e6 / batches);
        return rate;
      }
      for (Placement p : cc.placements()) {
        for (int k : cc.kGrid()) {
          if (k >= len && k != cc.kGrid().get(0)) {
            continue;
          }
          model.forward(ForwardRequest.attentionOnly(b, AttentionMode.topK(k, p), state.observerForK(k, p)));
        }
      }
      tokens += 8L * len;
      batches++;
    }
  }
}
