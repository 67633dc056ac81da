package io.thetacal.bench;

import static io.thetacal.bench.Bench.f;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.Gemm;
import io.thetacal.model.PackedGemm;
import io.thetacal.model.Models;
import io.thetacal.model.Sentences;
import io.thetacal.model.TextEncoding;
import io.thetacal.model.TransformerModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Encoder side of the benchmark harness on all-MiniLM-L6-v2 at batch 8 × 128 tokens, plain Java, no Spark:
 * the machine's SGEMM peak (one thread, and both cores at once), the forward pass's achieved GFLOP/s against
 * it, calibrate throughput (passes as the calibrate job runs them: attention only, with a
 * {@link CalibrationState} as observer) against plain forward throughput, and the same passes without the
 * observer (the statistics' own share), both for one dense pass with every k and for the job's default top-k
 * passes (top-k at calibration: one pass per placement and k, each with its k's observer), and the cost curve
 * over 1, 2, 4, 8 × a corpus of 8 sequences. Every measurement runs once per round, rounds interleave them,
 * so ratios compare runs under the same load. Arguments: output markdown, rounds, and {@code memory} to
 * measure peak heap of one calibration instead.
 */
public final class EncoderCalibrationBenchmark {
  static final int BATCH = 8;
  static final int TOKENS = 128;
  static final int PEAK_N = 1536;

  private EncoderCalibrationBenchmark() {
  }

  /** The calibrate job's default settings: k 16..256, both placements, the default histograms. */
  static CalibrationConfig jobConfig() {
    return CalibrationConfig.defaults().withPlacements(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX);
  }

  /** 128-token windows of real English sentences (rotated orderings of the shared sentence set). */
  static List<int[]> windows(TransformerModel model, int count) {
    List<int[]> out = new ArrayList<>();
    for (int r = 0; out.size() < count; r++) {
      if (r > 200) {
        throw new IllegalStateException("only " + out.size() + " windows of " + TOKENS + " tokens");
      }
      List<String> rotated = new ArrayList<>(Sentences.REAL);
      Collections.rotate(rotated, 7 * r + 3);
      for (int[] w : TextEncoding.encode(model.tokenizer(), List.of(String.join(" ", rotated)), TOKENS,
          TextEncoding.Overflow.SPLIT).sequences()) {
        if (w.length == TOKENS && out.size() < count) {
          out.add(w);
        }
      }
    }
    return out;
  }

  /** Useful FLOPs of one BERT-style encoder pass (projections, FFN, score and weight·V products). */
  static double encoderFlops(int layers, int hidden, int ffn, int batch, int tokens) {
    double t = (double) batch * tokens;
    double perLayer = 2 * t * hidden * 3 * hidden + 2 * t * hidden * hidden + 2 * 2 * t * hidden * ffn
        + 2.0 * 2 * batch * (double) tokens * tokens * hidden;
    return layers * perLayer;
  }

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "target/bench/encoder-calibration.md");
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
    boolean memory = args.length > 2 && args[2].equals("memory");
    if (memory) {
      memory(out);
      return;
    }
    String loadBefore = Bench.loadavg();
    StringBuilder md = new StringBuilder();
    try (TransformerModel model = Models.load(Models.DEFAULT_ID)) {
      var info = model.info();
      CalibrationConfig cc = jobConfig();
      CalibrationGeometry geometry = CalibrationGeometry.of(info);
      List<int[]> corpus = windows(model, 8 * BATCH);
      List<List<int[]>> batches = new ArrayList<>();
      for (int i = 0; i < corpus.size(); i += BATCH) {
        batches.add(corpus.subList(i, i + BATCH));
      }
      ForwardRequest plain = ForwardRequest.of(batches.get(0));
      ForwardRequest attentionOnly =
          ForwardRequest.attentionOnly(batches.get(0), AttentionMode.dense(), null);
      CalibrationState shared = new CalibrationState(geometry, cc);
      ForwardRequest calib = attentionOnly.withObserver(shared);
      // the calibrate job's default: top-k at calibration, one pass per placement and k below the length
      CalibrationState tacState = new CalibrationState(geometry, cc);
      List<ForwardRequest> tacPlain = new ArrayList<>();
      List<ForwardRequest> tacOnly = new ArrayList<>();
      List<ForwardRequest> tacCalib = new ArrayList<>();
      for (int k : cc.kGrid()) {
        for (Placement p : cc.placements()) {
          if (k < TOKENS) {
            tacPlain.add(ForwardRequest.of(batches.get(0)).withMode(AttentionMode.topK(k, p)));
            tacOnly.add(ForwardRequest.attentionOnly(batches.get(0), AttentionMode.topK(k, p), null));
            tacCalib.add(ForwardRequest.attentionOnly(batches.get(0), AttentionMode.topK(k, p),
                tacState.observerForK(k, p)));
          }
        }
      }
      Bench.Body tacPlainRun = () -> tacPlain.forEach(model::forward);
      Bench.Body tacOnlyRun = () -> tacOnly.forEach(model::forward);
      Bench.Body tacCalibRun = () -> tacCalib.forEach(model::forward);
      // FFN width of MiniLM: 4 × hidden.
      double flops = encoderFlops(info.numLayers(), info.hiddenSize(), 4 * info.hiddenSize(), BATCH, TOKENS);

      SplittableRandom rnd = new SplittableRandom(1);
      float[][] a = new float[2][];
      float[][] b = new float[2][];
      float[][] c = new float[2][];
      for (int i = 0; i < 2; i++) {
        a[i] = rnd.doubles((long) PEAK_N * PEAK_N).collect(() -> new FloatList(PEAK_N * PEAK_N), FloatList::add,
            (x, y) -> { }).a;
        b[i] = a[i].clone();
        c[i] = new float[PEAK_N * PEAK_N];
      }
      double peakFlops = 2.0 * PEAK_N * PEAK_N * PEAK_N;
      // The peak of the GEMM the projections run on: the packed Vector API GEMM when available.
      PackedGemm[] packed = {PackedGemm.packOrNull(b[0], PEAK_N, PEAK_N), PackedGemm.packOrNull(b[1], PEAK_N, PEAK_N)};
      java.util.function.IntConsumer sgemm = i -> {
        if (packed[i] != null) {
          packed[i].mulAdd(PEAK_N, a[i], 0, PEAK_N, c[i], 0, PEAK_N);
        } else {
          Gemm.mul(PEAK_N, PEAK_N, PEAK_N, a[i], b[i], c[i]);
        }
      };
      Bench.Body peak1 = () -> sgemm.accept(0);
      Bench.Body peak2 = () -> {
        Thread other = new Thread(() -> sgemm.accept(1));
        other.start();
        sgemm.accept(0);
        other.join();
      };
      int[] scales = {1, 2, 4, 8};
      // Warm-up.
      for (int i = 0; i < 3; i++) {
        peak1.run();
        peak2.run();
        model.forward(plain);
        model.forward(attentionOnly);
        model.forward(calib);
        tacPlainRun.run();
        tacOnlyRun.run();
        tacCalibRun.run();
      }
      java.lang.management.ThreadMXBean threadsBean = java.lang.management.ManagementFactory.getThreadMXBean();
      double[] p1 = new double[rounds];
      double[] p1cpu = new double[rounds];
      double[] effCpu = new double[rounds];
      double[] p2 = new double[rounds];
      double[] fwd = new double[rounds];
      double[] fwdCpu = new double[rounds];
      double[] only = new double[rounds];
      double[] cal = new double[rounds];
      double[] calCpu = new double[rounds];
      double[] eff = new double[rounds];
      double[] tacFwd = new double[rounds];
      double[] tacOnlyWall = new double[rounds];
      double[] tacCal = new double[rounds];
      double[] tacFwdCpu = new double[rounds];
      double[] tacCalCpu = new double[rounds];
      double[][] curve = new double[scales.length][rounds];
      double[] loads = new double[rounds];
      int reps = 3;
      for (int r = 0; r < rounds; r++) {
        loads[r] = Bench.load();
        double best1 = Double.MAX_VALUE;
        double best2 = Double.MAX_VALUE;
        double best1cpu = Double.MAX_VALUE;
        for (int i = 0; i < 2; i++) {
          long c0 = threadsBean.getCurrentThreadCpuTime();
          best1 = Math.min(best1, Bench.time(peak1).wall());
          best1cpu = Math.min(best1cpu, (threadsBean.getCurrentThreadCpuTime() - c0) / 1e9);
          best2 = Math.min(best2, Bench.time(peak2).wall());
        }
        p1cpu[r] = peakFlops / 1e9 / best1cpu;
        p1[r] = peakFlops / 1e9 / best1;
        p2[r] = 2 * peakFlops / 1e9 / best2;
        // plain, attention-only and calibrate passes alternate, order rotated every time
        double[][] dense = alternate(reps, r, () -> model.forward(plain), () -> model.forward(attentionOnly),
            () -> model.forward(calib));
        fwd[r] = dense[0][0];
        fwdCpu[r] = dense[0][1];
        only[r] = dense[1][0];
        cal[r] = dense[2][0];
        calCpu[r] = dense[2][1];
        eff[r] = flops / 1e9 / fwd[r] / p2[r];
        effCpu[r] = flops / 1e9 / fwdCpu[r] / p1cpu[r];
        double[][] tac = alternate(reps, r, tacPlainRun, tacOnlyRun, tacCalibRun);
        tacFwd[r] = tac[0][0] / tacPlain.size();
        tacFwdCpu[r] = tac[0][1] / tacPlain.size();
        tacOnlyWall[r] = tac[1][0] / tacPlain.size();
        tacCal[r] = tac[2][0] / tacPlain.size();
        tacCalCpu[r] = tac[2][1] / tacPlain.size();
        for (int s = 0; s < scales.length; s++) {
          int m = scales[s];
          CalibrationState st = new CalibrationState(geometry, cc);
          curve[s][r] = Bench.time(() -> {
            for (int i = 0; i < m; i++) {
              model.forward(ForwardRequest.attentionOnly(batches.get(i), AttentionMode.dense(), st));
            }
          }).wall();
        }
      }
      if (shared.rowsObserved() == 0 || tacState.rowsObserved() == 0) {
        throw new IllegalStateException("the calibration state saw no rows");
      }
      double tokens = BATCH * TOKENS;
      Bench.Stat peak2s = Bench.Stat.of(p2);
      md.append("## Encoder: GEMM efficiency, capture and statistics overhead, cost curve\n\n");
      md.append(f("Model %s (%d layers × %d heads, hidden %d), batch %d × %d tokens of real English text, "
          + "dense attention; calibration config: the calibrate job's defaults (k grid %s, pre- and "
          + "post-softmax, %d-bin histograms), state %d bytes. %d rounds; in each, the SGEMM peak "
          + "(best of 2), then a plain forward, the same pass as the calibrate job runs it (attention only: the "
          + "last layer stops after its attention kernel) without and with the observer, alternating %d "
          + "times; then the same three for the job's default top-k passes (order rotated each time; the "
          + "round keeps the medians), then the cost curve. 1-minute load average at the "
          + "start of each round: %s.%n%n",
          info.id(), info.numLayers(), info.numHeads(), info.hiddenSize(), BATCH, TOKENS, cc.kGrid(),
          cc.histogramBins(), CalibrationState.sizeBytesFor(geometry, cc), rounds, reps,
          Bench.Stat.of(loads).fmt("%.1f")));
      md.append("| measurement | median (min – max) over rounds |\n|---|---|\n");
      md.append(f("| SGEMM peak, %d³, one thread | %s GFLOP/s |%n", PEAK_N, Bench.Stat.of(p1).fmt("%.1f")));
      md.append(f("| SGEMM peak, %d³, one thread, per CPU-second of that thread | %s GFLOP/s |%n", PEAK_N,
          Bench.Stat.of(p1cpu).fmt("%.1f")));
      md.append(f("| SGEMM peak, %d³ on each of both cores at once (machine peak) | %s GFLOP/s |%n", PEAK_N,
          peak2s.fmt("%.1f")));
      md.append(f("| plain forward (capture off) | %s tokens/s, CPU %s ms/batch |%n",
          Bench.Stat.of(inv(fwd, tokens)).fmt("%.0f"), Bench.Stat.of(Bench.scale(fwdCpu, 1e3)).fmt("%.0f")));
      md.append(f("| attention-only pass, no observer | %s tokens/s |%n",
          Bench.Stat.of(inv(only, tokens)).fmt("%.0f")));
      md.append(f("| calibrate forward (attention only, CalibrationState observer: as the job runs it) | %s tokens/s, CPU %s ms/batch |%n",
          Bench.Stat.of(inv(cal, tokens)).fmt("%.0f"), Bench.Stat.of(Bench.scale(calCpu, 1e3)).fmt("%.0f")));
      md.append(f("| forward achieved GFLOP/s (%.1f GFLOP per batch) | %s GFLOP/s |%n", flops / 1e9,
          Bench.Stat.of(inv(fwd, flops / 1e9)).fmt("%.1f")));
      md.append(f("| **wall: forward GFLOP/s / two-core SGEMM peak of the same round** (goal ≥ 70 %%) | **%s %%** |%n",
          Bench.Stat.of(Bench.scale(eff, 100)).fmt("%.0f")));
      md.append(f("| forward GFLOP per process CPU-second | %s GFLOP/s |%n",
          Bench.Stat.of(inv(fwdCpu, flops / 1e9)).fmt("%.1f")));
      md.append(f("| **per core, by CPU time: forward GFLOP/CPU-s / one-thread SGEMM peak GFLOP/CPU-s** (goal ≥ 70 %%) | **%s %%** |%n",
          Bench.Stat.of(Bench.scale(effCpu, 100)).fmt("%.0f")));
      overheadRows(md, "dense pass with every k (`top_k_at_calibration: false`)", "dense pass with every k",
          "calibrate time / plain time", cal, fwd, calCpu, fwdCpu);
      md.append(f("| the statistics alone, dense pass with every k, wall: calibrate time / attention-only time − 1 | %s %% |%n",
          percent(ratioMinusOne(cal, only))));
      md.append(f("| top-k pass of the job's default (top-k at calibration; %d passes: k < %d × both placements), plain forward, no observer | %s tokens/s per pass, CPU %s ms/pass |%n",
          tacPlain.size(), TOKENS, Bench.Stat.of(inv(tacFwd, tokens)).fmt("%.0f"),
          Bench.Stat.of(Bench.scale(tacFwdCpu, 1e3)).fmt("%.0f")));
      md.append(f("| the same passes, attention only, no observer | %s tokens/s per pass |%n",
          Bench.Stat.of(inv(tacOnlyWall, tokens)).fmt("%.0f")));
      md.append(f("| the same passes as the job runs them: attention only, each with its k's CalibrationState observer | %s tokens/s per pass, CPU %s ms/pass |%n",
          Bench.Stat.of(inv(tacCal, tokens)).fmt("%.0f"), Bench.Stat.of(Bench.scale(tacCalCpu, 1e3)).fmt("%.0f")));
      overheadRows(md, "the job's default top-k passes", "the job's default top-k passes",
          "as the job runs them / plain", tacCal, tacFwd, tacCalCpu, tacFwdCpu);
      md.append(f("| the statistics alone, top-k passes, wall: with observer / attention only without − 1 | %s %% |%n",
          percent(ratioMinusOne(tacCal, tacOnlyWall))));
      md.append("\nCost curve (fresh state per point; time is the whole calibration of m batches):\n\n");
      md.append("| corpus | sequences | tokens | calibration time, s | tokens/s | state bytes |\n|---|---:|---:|---|---:|---:|\n");
      double[] xs = new double[scales.length];
      double[] ys = new double[scales.length];
      for (int s = 0; s < scales.length; s++) {
        Bench.Stat st = Bench.Stat.of(curve[s]);
        xs[s] = scales[s] * tokens;
        ys[s] = st.median();
        md.append(f("| %dx | %d | %.0f | %s | %.0f | %d |%n", scales[s], scales[s] * BATCH, xs[s],
            st.fmt("%.2f"), xs[s] / st.median(), CalibrationState.sizeBytesFor(geometry, cc)));
      }
      md.append(f("%nFitted exponent of calibration time in tokens (log-log least squares on the medians): "
          + "**%.2f** (linear = 1). The state size does not depend on the corpus.%n", Bench.exponent(xs, ys)));
      md.append(f("%nFLOPs counted: Q|K|V, output and the two FFN projections, and the score and "
          + "weight·V products (2 per multiply-add); LayerNorm, GELU and softmax are not counted. SGEMM peak, "
          + "projections and attention products on %s (BLAS where 512-bit vectors are missing: %s). "
          + "Load average before: %s; after: %s.%n%n",
          PackedGemm.available() ? "the packed 512-bit Vector API GEMM" : "the BLAS", Gemm.implementation(),
          loadBefore, Bench.loadavg()));
    }
    Bench.write(out, md.toString());
  }

  private static void memory(Path out) throws Exception {
    PeakHeap peaks = new PeakHeap();
    long base = PeakHeap.liveNow();
    try (TransformerModel model = Models.load(Models.DEFAULT_ID)) {
      long modelBytes = PeakHeap.liveNow() - base;
      List<int[]> corpus = windows(model, 8 * BATCH);
      CalibrationState st = new CalibrationState(CalibrationGeometry.of(model.info()), jobConfig());
      PeakHeap.resetPoolPeaks();
      for (int i = 0; i < corpus.size(); i += BATCH) {
        model.forward(ForwardRequest.attentionOnly(corpus.subList(i, i + BATCH), AttentionMode.dense(), st));
      }
      Bench.write(out, f("| %s, calibration of %d × %d tokens (batch %d), state %d bytes | %.0f | %.0f | %.0f | %.0f | %s |%n",
          model.info().id(), corpus.size(), TOKENS, BATCH, st.sizeBytes(), modelBytes / 1e6,
          peaks.maxAfterGc() / 1e6, PeakHeap.poolPeakSum() / 1e6, (modelBytes + 1e9) / 1e6,
          peaks.maxAfterGc() <= modelBytes + 1e9 ? "met (peak after GC)" : "NOT met"));
    }
  }

  /**
   * Times the bodies in turn, reps times each, the order rotated by one from each turn to the next
   * ({@code round + i}), and returns the medians {wall, CPU} in seconds of each body.
   */
  private static double[][] alternate(int reps, int round, Bench.Body... bodies) throws Exception {
    int v = bodies.length;
    double[][] wall = new double[v][reps];
    double[][] cpu = new double[v][reps];
    for (int i = 0; i < reps; i++) {
      for (int j = 0; j < v; j++) {
        int which = (round + i + j) % v;
        Bench.Timing t = Bench.time(bodies[which]);
        wall[which][i] = t.wall();
        cpu[which][i] = t.cpu();
      }
    }
    double[][] medians = new double[v][];
    for (int which = 0; which < v; which++) {
      medians[which] = new double[] {Bench.Stat.of(wall[which]).median(), Bench.Stat.of(cpu[which]).median()};
    }
    return medians;
  }

  /**
   * The two goal rows of a calibrate overhead: wall time (named {@code wallLabel}, measured as
   * {@code ratio} − 1) and process CPU time.
   */
  private static void overheadRows(StringBuilder md, String wallLabel, String cpuLabel, String ratio,
      double[] cal, double[] plain, double[] calCpu, double[] plainCpu) {
    md.append(f("| **calibrate overhead, %s, wall: %s − 1** (goal ≤ 10 %%) | **%s %%** |%n", wallLabel, ratio,
        percent(ratioMinusOne(cal, plain))));
    md.append(f("| **calibrate overhead, %s, process CPU time** (goal ≤ 10 %%) | **%s %%** |%n", cpuLabel,
        percent(ratioMinusOne(calCpu, plainCpu))));
  }

  /** Median (min – max) over rounds of fractions, in percent with one decimal. */
  private static String percent(double[] fractions) {
    return Bench.Stat.of(Bench.scale(fractions, 100)).fmt("%.1f");
  }

  /** num[i] / den[i] − 1 for every round i: an overhead of num over den. */
  static double[] ratioMinusOne(double[] num, double[] den) {
    double[] o = new double[num.length];
    for (int i = 0; i < o.length; i++) {
      o[i] = num[i] / den[i] - 1;
    }
    return o;
  }

  static double[] inv(double[] seconds, double work) {
    double[] o = new double[seconds.length];
    for (int i = 0; i < o.length; i++) {
      o[i] = work / seconds[i];
    }
    return o;
  }

  /** Collects doubles into a float array. */
  static final class FloatList {
    final float[] a;
    int n;

    FloatList(int size) {
      a = new float[size];
    }

    void add(double v) {
      a[n++] = (float) v;
    }
  }
}
