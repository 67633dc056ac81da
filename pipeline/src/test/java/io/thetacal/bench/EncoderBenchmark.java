package io.thetacal.bench;

import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionRow;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.Gemm;
import io.thetacal.model.Models;
import io.thetacal.model.PackedGemm;
import io.thetacal.model.Sentences;
import io.thetacal.model.TextEncoding;
import io.thetacal.model.TransformerModel;
import io.thetacal.model.bert.OrtOracle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Forward throughput at batch 8 × 128 tokens: the Java encoder with capture off and on, ONNX Runtime on
 * the same ONNX file, and the capture pass as calibration runs it (attention only: no outputs, the last
 * layer ends with its attention kernel). Arguments: [model id] [warm-up runs] [measured runs]. Prints a
 * Markdown table.
 */
public final class EncoderBenchmark {
  private static final int BATCH = 8;
  private static final int TOKENS = 128;
  private static final int PAUSE_MS = 100;

  /**
   * Touches every score: a running max in vector lanes, so the JIT cannot drop the work and the observer
   * itself costs little next to the pass. It forks per engine thread, as the calibration state does, so
   * the engine's attention kernels run on every thread.
   */
  static final class MaxObserver implements AttentionObserver {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    final float[] lanes = new float[S.length()];
    float tail = Float.NEGATIVE_INFINITY;
    long rows;

    MaxObserver() {
      Arrays.fill(lanes, Float.NEGATIVE_INFINITY);
    }

    @Override
    public void onRow(AttentionRow row) {
      float[] a = row.scores();
      int off = row.offset();
      int n = row.n();
      FloatVector m = FloatVector.fromArray(S, lanes, 0);
      int j = 0;
      for (int end = S.loopBound(n); j < end; j += S.length()) {
        m = m.max(FloatVector.fromArray(S, a, off + j));
      }
      m.intoArray(lanes, 0);
      float t = tail;
      for (; j < n; j++) {
        t = Math.max(t, a[off + j]);
      }
      tail = t;
      rows++;
    }

    @Override
    public AttentionObserver fork() {
      return new MaxObserver();
    }

    @Override
    public void join(AttentionObserver forked) {
      MaxObserver f = (MaxObserver) forked;
      for (int i = 0; i < lanes.length; i++) {
        lanes[i] = Math.max(lanes[i], f.lanes[i]);
      }
      tail = Math.max(tail, f.tail);
      rows += f.rows;
    }

    float max() {
      float m = tail;
      for (float v : lanes) {
        m = Math.max(m, v);
      }
      return m;
    }
  }

  interface Run {
    void run() throws Exception;
  }

  record Stats(String name, double medianTps, double minTps, double maxTps, double[] ms, double[] cpuMs,
      double[] allocMb) {
    double medianCpuMs() {
      return median(cpuMs);
    }
  }

  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
          .getOperatingSystemMXBean();
  /** Java heap allocation of all threads: a pass left with boxed vectors by the JIT shows here. */
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

  static double median(double[] v) {
    double[] sorted = v.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  public static void main(String[] args) throws Exception {
    String id = args.length > 0 ? args[0] : Models.DEFAULT_ID;
    int warm = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    int runs = args.length > 2 ? Integer.parseInt(args[2]) : 30;
    int engineThreads;
    double load = OS.getSystemLoadAverage();
    try (TransformerModel model = Models.load(id)) {
      engineThreads = ((io.thetacal.model.bert.BertEncoder) model).threads();
      // ONNX Runtime gets as many intra-op threads as the engine (-Dthetacal.encoder.threads=N sets both)
      int threads = engineThreads;
      StringBuilder text = new StringBuilder();
      for (int r = 0; r < 4; r++) {
        List<String> rotated = new ArrayList<>(Sentences.REAL);
        java.util.Collections.rotate(rotated, 7 * r);
        text.append(String.join(" ", rotated)).append(' ');
      }
      List<int[]> windows = TextEncoding.encode(model.tokenizer(), List.of(text.toString()), TOKENS,
          TextEncoding.Overflow.SPLIT).sequences();
      List<int[]> batch = new ArrayList<>();
      for (int[] w : windows) {
        if (w.length == TOKENS && batch.size() < BATCH) {
          batch.add(w);
        }
      }
      if (batch.size() < BATCH) {
        throw new IllegalStateException("only " + batch.size() + " windows of " + TOKENS + " tokens");
      }
      ForwardRequest off = ForwardRequest.of(batch);
      MaxObserver obs = new MaxObserver();
      ForwardRequest on = off.withObserver(obs);
      MaxObserver onlyObs = new MaxObserver();
      ForwardRequest only = ForwardRequest.attentionOnly(batch, off.mode(), onlyObs);
      List<Stats> results = new ArrayList<>();
      try (OrtOracle ort = new OrtOracle(OrtOracle.resource(id + ".onnx"), 0, false, threads)) {
        String ortName = "ONNX Runtime " + ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion();
        Run[] variants = {() -> model.forward(off), () -> model.forward(on), () -> ort.runDiscard(batch),
            () -> model.forward(only)};
        String[] names = {"Java, capture off", "Java, capture on (running max, forked per thread)", ortName,
            "Java, capture pass as calibration runs it (attention only, the same observer)"};
        for (int i = 0; i < warm; i++) {
          for (Run v : variants) {
            v.run();
          }
        }
        // Alternate the variants run by run, rotating the order, so machine noise hits all alike.
        int nv = variants.length;
        double[][] ms = new double[nv][runs];
        double[][] cpu = new double[nv][runs];
        double[][] alloc = new double[nv][runs];
        for (int i = 0; i < runs; i++) {
          for (int step = 0; step < nv; step++) {
            int v = (i + step) % nv;
            // ONNX Runtime's pool threads spin on after a run and would steal the cores (and be counted
            // in the process CPU time) of whatever runs next: let them go idle first, untimed.
            Thread.sleep(PAUSE_MS);
            long c0 = OS.getProcessCpuTime();
            long a0 = THREADS.getTotalThreadAllocatedBytes();
            long t0 = System.nanoTime();
            variants[v].run();
            ms[v][i] = (System.nanoTime() - t0) / 1e6;
            cpu[v][i] = (OS.getProcessCpuTime() - c0) / 1e6;
            alloc[v][i] = (THREADS.getTotalThreadAllocatedBytes() - a0) / 1e6;
          }
        }
        for (int v = 0; v < nv; v++) {
          results.add(summarize(names[v], ms[v], cpu[v], alloc[v]));
        }
      }
      if (obs.rows == 0 || onlyObs.rows != obs.rows || !Float.isFinite(obs.max())) {
        throw new IllegalStateException("the observer saw no rows, or the two capture passes saw different"
            + " numbers of rows (" + obs.rows + " and " + onlyObs.rows + "), or no finite score (max "
            + obs.max() + ")");
      }
      System.out.printf("model %s, batch %d x %d tokens, %d engine thread(s), ONNX Runtime %d thread(s), projections on %s,"
          + " BLAS %s, OPENBLAS_NUM_THREADS=%s, OPENBLAS_CORETYPE=%s,"
          + " Java %s, %s %s, load average before %.1f%n", id, BATCH, TOKENS, engineThreads, threads,
          PackedGemm.available() ? "the packed 512-bit Vector API GEMM" : "the BLAS", Gemm.implementation(),
          System.getenv("OPENBLAS_NUM_THREADS"), System.getenv().getOrDefault("OPENBLAS_CORETYPE", "(detected)"),
          System.getProperty("java.version"),
          System.getProperty("os.name"), System.getProperty("os.arch"), load);
      System.out.println();
      System.out.println("| run | median tokens/s (wall) | min–max tokens/s | median ms/batch (wall) |"
          + " median CPU ms/batch (all threads) | median Java heap MB allocated/batch | runs |");
      System.out.println("|---|---:|---:|---:|---:|---:|---:|");
      for (Stats s : results) {
        System.out.printf("| %s | %.0f | %.0f–%.0f | %.1f | %.1f | %.1f | %d |%n", s.name(), s.medianTps(),
            s.minTps(), s.maxTps(), BATCH * TOKENS / s.medianTps() * 1e3, s.medianCpuMs(), median(s.allocMb()),
            s.ms().length);
      }
      System.out.println();
      double[] paired = new double[runs];
      for (int i = 0; i < runs; i++) {
        paired[i] = results.get(2).ms()[i] / results.get(1).ms()[i];
      }
      double[] p = paired.clone();
      Arrays.sort(p);
      System.out.printf("capture-on / ONNX Runtime = %.2fx (%d engine thread%s, %d ONNX Runtime thread%s); paired"
          + " by round (ONNX Runtime time / capture-on time of the same round): median %.2fx, quartiles %.2f –"
          + " %.2f over %d rounds; capture overhead = %.1f%% (capture-off / capture-on time - 1); capture-off /"
          + " ONNX Runtime = %.2fx%n",
          results.get(1).medianTps() / results.get(2).medianTps(), engineThreads, engineThreads == 1 ? "" : "s",
          threads, threads == 1 ? "" : "s", median(paired),
          p[runs / 4], p[(3 * runs) / 4], runs,
          (results.get(0).medianTps() / results.get(1).medianTps() - 1) * 100,
          results.get(0).medianTps() / results.get(2).medianTps());
      System.out.printf("by CPU time per batch: capture-on / ONNX Runtime = %.2fx; capture overhead = %.1f%%%n",
          results.get(2).medianCpuMs() / results.get(1).medianCpuMs(),
          (results.get(1).medianCpuMs() / results.get(0).medianCpuMs() - 1) * 100);
      System.out.printf("capture pass as calibration runs it / ONNX Runtime = %.2fx (it computes no embeddings:"
          + " not the same work as ONNX Runtime's forward)%n",
          results.get(3).medianTps() / results.get(2).medianTps());
    }
  }

  private static Stats summarize(String name, double[] ms, double[] cpu, double[] allocMb) {
    double[] sorted = ms.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    double tokens = BATCH * TOKENS;
    return new Stats(name, tokens / (median(ms) / 1e3), tokens / (sorted[n - 1] / 1e3),
        tokens / (sorted[0] / 1e3), ms, cpu, allocMb);
  }
}
