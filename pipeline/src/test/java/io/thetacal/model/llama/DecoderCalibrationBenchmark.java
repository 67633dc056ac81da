package io.thetacal.model.llama;

import static io.thetacal.bench.Bench.f;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.Placement;
import io.thetacal.bench.Bench;
import io.thetacal.bench.PeakHeap;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.model.ForwardRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Decoder calibration cost against sequence length, on the seeded random LLaMA of realistic shape that
 * {@link DecoderBenchmark} builds (12 layers, width 768, 12 query / 4 KV heads, FFN 2048, vocabulary 32000):
 * the same 512 tokens as 4 × 128, 2 × 256 and 1 × 512, so the projections do the same work (timed alone too:
 * fewer rows run them at a lower rate) and only attention grows with length; plain prefill (with logits)
 * against calibrate prefill as the job runs it (attention only, with a {@link CalibrationState} observer) and
 * against the same attention-only prefill without the observer (the statistics' own cost); and, from the
 * fitted linear and quadratic parts, the paper estimate for LLaMA-3-8B on a 64-executor cluster. Arguments:
 * output markdown, rounds, and {@code memory} to measure peak heap of one calibration instead.
 */
public final class DecoderCalibrationBenchmark {
  static final long SEED = 20250211L;
  static final int TOKENS = 512;
  static final int[] LENGTHS = {128, 256, 512};

  private DecoderCalibrationBenchmark() {
  }

  static LlamaConfig realistic() {
    return new LlamaConfig(32000, 768, 2048, 12, 12, 4, 64, 64, 10000.0, 1e-5, 2048,
        RopeLayout.ADJACENT_PAIRS, false, false);
  }

  static CalibrationConfig jobConfig() {
    return CalibrationConfig.defaults().withPlacements(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX);
  }

  /** FLOPs of the causal attention products (scores and weight·V) of one sequence of length t. */
  static double attentionFlops(LlamaConfig c, int t) {
    return attentionFlops(c.numLayers(), c.numHeads(), c.headDim(), t);
  }

  static double attentionFlops(int layers, int heads, int headDim, int t) {
    return layers * 2.0 * 2 * ((double) t * (t + 1) / 2) * headDim * heads;
  }

  /**
   * Projection and FFN FLOPs per token (2 per multiply-add) of a calibration pass: every layer's Q|K|V
   * projection, every layer but the last's output projection and FFN (the last stops after its attention
   * kernel), no output head.
   */
  static double calibrationLinearFlopsPerToken(int layers, int d, int qDim, int kvDim, int ffn) {
    return layers * 2.0 * d * (qDim + 2 * kvDim) + (layers - 1) * (2.0 * qDim * d + 2.0 * d * 3 * ffn);
  }

  static List<int[]> sequences(LlamaConfig c, int length, int count, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<int[]> out = new ArrayList<>();
    for (int s = 0; s < count; s++) {
      int[] t = new int[length];
      for (int i = 0; i < length; i++) {
        t[i] = r.nextInt(c.vocabSize());
      }
      out.add(t);
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args.length > 0 ? args[0] : "target/bench/decoder-calibration.md");
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    if (args.length > 2 && args[2].equals("memory")) {
      memory(out, args.length > 3 ? io.thetacal.model.TensorType.valueOf(args[3]) : null);
      return;
    }
    String loadBefore = Bench.loadavg();
    LlamaConfig cfg = realistic();
    LlamaModel model = DecoderBenchmark.randomModel(cfg, SEED);
    CalibrationConfig cc = jobConfig();
    CalibrationGeometry geometry = CalibrationGeometry.of(model.info());
    int nl = LENGTHS.length;
    List<List<int[]>> inputs = new ArrayList<>();
    for (int l : LENGTHS) {
      inputs.add(sequences(cfg, l, TOKENS / l, SEED + l));
    }
    CalibrationState warm = new CalibrationState(geometry, cc);
    for (List<int[]> in : inputs) {
      model.forward(ForwardRequest.of(in));
      model.forward(ForwardRequest.attentionOnly(in, AttentionMode.dense(), null));
      model.forward(ForwardRequest.attentionOnly(in, AttentionMode.dense(), warm));
      calibrationGemms(model, in.get(0).length, in.size());
    }
    double[][] plain = new double[nl][rounds];
    double[][] gemm = new double[nl][rounds];
    double[][] only = new double[nl][rounds];
    double[][] statShare = new double[nl][rounds];
    double[][] cal = new double[nl][rounds];
    double[][] calWall = new double[nl][rounds];
    double[][] over = new double[nl][rounds];
    double[] statNs = new double[rounds];
    long[] elements = new long[nl];
    double[] loads = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      loads[r] = Bench.load();
      for (int li = 0; li < nl; li++) {
        List<int[]> in = inputs.get(li);
        CalibrationState st = new CalibrationState(geometry, cc);
        int length = LENGTHS[li];
        Bench.Body[] variants = {() -> model.forward(ForwardRequest.of(in)),
            () -> model.forward(ForwardRequest.attentionOnly(in, AttentionMode.dense(), null)),
            () -> model.forward(ForwardRequest.attentionOnly(in, AttentionMode.dense(), st)),
            () -> calibrationGemms(model, length, TOKENS / length)};
        Bench.Timing[] t = new Bench.Timing[variants.length];
        // the order rotates from round to round and length to length
        for (int j = 0; j < variants.length; j++) {
          int v = (r + li + j) % variants.length;
          t[v] = Bench.time(variants[v]);
        }
        plain[li][r] = t[0].cpu();
        only[li][r] = t[1].cpu();
        cal[li][r] = t[2].cpu();
        gemm[li][r] = t[3].cpu();
        calWall[li][r] = t[2].wall();
        over[li][r] = cal[li][r] / plain[li][r] - 1;
        statShare[li][r] = cal[li][r] / only[li][r] - 1;
        elements[li] = st.elementsObserved();
      }
      statNs[r] = (cal[nl - 1][r] - only[nl - 1][r]) / elements[nl - 1] * 1e9;
    }
    double[] ls = new double[nl];
    double[] calMed = new double[nl];
    double[] restMed = new double[nl];
    double[] gemmMed = new double[nl];
    for (int li = 0; li < nl; li++) {
      ls[li] = LENGTHS[li];
      calMed[li] = Bench.Stat.of(cal[li]).median();
      gemmMed[li] = Bench.Stat.of(gemm[li]).median();
      restMed[li] = calMed[li] - gemmMed[li];
    }
    // Projection GEMMs are timed alone at each length's shapes (shorter sequences run them on fewer rows,
    // at a lower rate). The rest for a fixed TOKENS tokens is rest(L) = c + s·L: c the per-token
    // element-wise work (norms, RoPE, SiLU), s·L the attention part, (s / TOKENS)·L² per sequence.
    double[] fit = Bench.line(ls, restMed);
    double[] attnPerSeq = new double[nl];
    double[] perSeq = new double[nl];
    for (int li = 0; li < nl; li++) {
      attnPerSeq[li] = (restMed[li] - fit[0]) * LENGTHS[li] / TOKENS;
      perSeq[li] = calMed[li] * LENGTHS[li] / TOKENS;
    }
    double linearFlops = TOKENS * calibrationLinearFlopsPerToken(cfg.numLayers(), cfg.hiddenSize(),
        cfg.qDim(), cfg.kvDim(), cfg.intermediateSize());
    // the rate of a 4096-token sequence's linear part: the GEMMs on 512-row shapes and the element-wise work
    double linearRate = linearFlops / (gemmMed[nl - 1] + fit[0]) / 1e9;
    double attnFlops512 = attentionFlops(cfg, 512);
    double attnRate = attnFlops512 / (fit[1] * 512 * 512 / TOKENS) / 1e9;

    StringBuilder md = new StringBuilder();
    md.append("## Decoder: calibration cost against sequence length\n\n");
    md.append(f("Seeded random LLaMA of realistic shape (12 layers, width 768, 12 query / 4 KV heads of 64, FFN "
        + "2048, vocabulary 32000, seed %d), generated in memory; %d tokens per measurement as 4 × 128, "
        + "2 × 256 and 1 × 512 tokens, so the linear part (projections, norms) does the same work and only "
        + "attention grows; its projection GEMMs run slower on the shorter sequences' fewer rows, so they are "
        + "timed alone at every length and taken out before the fit. Plain = prefill with logits. "
        + "Calibrate = the prefill as the job runs it: attention only (no output head; the last layer stops "
        + "after its attention kernel) with a CalibrationState (the job's defaults, %d bytes) as observer; "
        + "attention only = the same without the observer; projection GEMMs = the calibration pass's GEMMs "
        + "alone (Q|K|V of every layer, output and FFN of all but the last) on the same shapes. %d rounds, "
        + "each running every length all four ways (order rotated). Times are process CPU seconds (one BLAS "
        + "thread and one Java thread do the work, so CPU time is "
        + "the work itself and less sensitive to the machine's load than wall time, which is shown for calibrate). 1-minute load average per round: %s. One BLAS thread (OPENBLAS_NUM_THREADS=%s): the "
        + "figures are per core.%n%n", SEED, TOKENS, CalibrationState.sizeBytesFor(geometry, cc), rounds,
        Bench.Stat.of(loads).fmt("%.1f"), System.getenv("OPENBLAS_NUM_THREADS")));
    md.append("| length × sequences | plain prefill, CPU s | projection GEMMs, CPU s | attention only, CPU s | calibrate, CPU s | calibrate, wall s | calibrate / plain − 1 (CPU) | statistics: calibrate / attention only − 1 (CPU) | attention rows × keys observed |\n");
    md.append("|---|---|---|---|---|---|---|---|---:|\n");
    for (int li = 0; li < nl; li++) {
      md.append(f("| %d × %d | %s | %s | %s | %s | %s | %s %% | %s %% | %d |%n", LENGTHS[li], TOKENS / LENGTHS[li],
          Bench.Stat.of(plain[li]).fmt("%.2f"), Bench.Stat.of(gemm[li]).fmt("%.2f"),
          Bench.Stat.of(only[li]).fmt("%.2f"),
          Bench.Stat.of(cal[li]).fmt("%.2f"), Bench.Stat.of(calWall[li]).fmt("%.2f"),
          Bench.Stat.of(Bench.scale(over[li], 100)).fmt("%.1f"),
          Bench.Stat.of(Bench.scale(statShare[li], 100)).fmt("%.1f"), elements[li]));
    }
    md.append(f("%nLeast-squares fit of the calibrate medians minus the projection GEMMs' medians, "
        + "rest(L) = c + s·L for %d tokens: c = %.3f s (element-wise work; with the GEMMs at 512 rows, %.3f s, "
        + "the linear part: %.2f GFLOP → **%.1f GFLOP/s per core**), s = %.3g s per unit of length "
        + "(attention: %.2f GFLOP per 512-token sequence → **%.1f GFLOP/s per core** including softmax and "
        + "statistics).%n", TOKENS, fit[0], gemmMed[nl - 1], linearFlops / 1e9, linearRate, fit[1],
        attnFlops512 / 1e9, attnRate));
    md.append(f("Attention part per sequence, (rest(L) − c)·L/%d: %s s at L = 128, 256, 512; fitted exponent in L "
        + "(log-log least squares): **%.2f** (quadratic = 2). Whole calibration time per sequence: exponent "
        + "**%.2f** in L (between 1 and 2: at these lengths the linear part dominates).%n",
        TOKENS, f("%.4f, %.4f, %.4f", attnPerSeq[0], attnPerSeq[1], attnPerSeq[2]),
        positive(attnPerSeq) ? Bench.exponent(ls, attnPerSeq) : Double.NaN, Bench.exponent(ls, perSeq)));
    md.append(f("Statistics cost at 512 tokens, (calibrate − attention only) / keys observed: %s ns per attention "
        + "score.%n%n", Bench.Stat.of(statNs).fmt("%.2f")));
    md.append(estimate(linearRate, attnRate, Bench.Stat.of(statNs).median()));
    md.append(f("%nLoad average before: %s; after: %s.%n%n", loadBefore, Bench.loadavg()));
    Bench.write(out, md.toString());
  }

  /**
   * The projection GEMMs of a calibration pass over the given sequences alone, on the model's weights and
   * the pass's shapes: every layer's Q|K|V, and the output projection and FFN of every layer but the last.
   */
  private static void calibrationGemms(LlamaModel model, int length, int sequences) {
    LlamaConfig c = model.config();
    int d = c.hiddenSize();
    int qkv = c.qDim() + 2 * c.kvDim();
    int ffn = c.intermediateSize();
    float[] x = new float[length * Math.max(d, ffn)];
    float[] y = new float[length * Math.max(qkv, 2 * ffn)];
    for (int s = 0; s < sequences; s++) {
      for (int l = 0; l < c.numLayers(); l++) {
        LlamaWeights.Layer w = model.weights().layers().get(l);
        Parallel.linear(length, qkv, d, x, 0, d, w.wqkv(), 0f, y, 0, qkv);
        if (l + 1 < c.numLayers()) {
          Parallel.linear(length, d, c.qDim(), x, 0, c.qDim(), w.wo(), 0f, y, 0, d);
          Parallel.linear(length, 2 * ffn, d, x, 0, d, w.wGateUp(), 0f, y, 0, 2 * ffn);
          Parallel.linear(length, d, ffn, x, 0, ffn, w.wDown(), 0f, y, 0, d);
        }
      }
    }
  }

  private static boolean positive(double[] v) {
    for (double x : v) {
      if (!(x > 0)) {
        return false;
      }
    }
    return true;
  }

  /** The paper estimate for LLaMA-3-8B, 500 sequences of 4096 tokens, 64 one-core executors. */
  static String estimate(double linearRate, double attnRate, double statNs) throws Exception {
    // LLaMA-3-8B; LlamaConfig itself refuses this shape (see the note below), so the numbers are plain.
    int layers = 32;
    int heads = 32;
    int headDim = 128;
    int t = 4096;
    int seqs = 500;
    int executors = 64;
    double attn = attentionFlops(layers, heads, headDim, t);
    double linear = t * calibrationLinearFlopsPerToken(layers, 4096, heads * headDim, 8 * headDim, 14336);
    double tLinear = linear / (linearRate * 1e9);
    double tAttn = attn / (attnRate * 1e9);
    double keys = (double) layers * heads * t * (t + 1) / 2;
    double perSeq = tLinear + tAttn;
    int perExecutor = (seqs + executors - 1) / executors;
    CalibrationConfig cc = jobConfig();
    CalibrationGeometry g = new CalibrationGeometry(layers, heads, 8192);
    long state = CalibrationState.sizeBytesFor(g, cc);
    // Merge cost at that geometry, measured: deserialize + merge of one serialized state into another.
    double mergeSec = Double.NaN;
    try {
      CalibrationState a = new CalibrationState(g, cc);
      byte[] bytes = new CalibrationState(g, cc).serialize();
      double[] m = new double[3];
      for (int i = 0; i < m.length; i++) {
        m[i] = Bench.time(() -> a.mergeSerialized(bytes)).wall();
      }
      mergeSec = Bench.Stat.of(m).median();
    } catch (OutOfMemoryError e) {
      // reported as not measured below
    }
    // every weight matrix: the calibration pass's, plus the last layer's output projection and FFN and
    // the output head, which it skips
    double params = linear / (2.0 * t) + (double) heads * headDim * 4096 + 3.0 * 4096 * 14336
        + 4096.0 * 128256;
    StringBuilder md = new StringBuilder();
    md.append("### On paper: LLaMA-3-8B, 500 sequences × 4096 tokens, 64 executors of one core\n\n");
    md.append(f("Geometry: 32 layers, width 4096, 32 query / 8 KV heads of 128, FFN 14336, vocabulary 128256.%n%n"));
    md.append(f("- Linear FLOPs per token of a calibration pass (every layer's Q|K|V projection, the output "
        + "projection and FFN of all layers but the last, which stops after its attention kernel; no output "
        + "head; 2 per multiply-add): **%.1f GFLOP/token**, %.1f TFLOP per 4096-token sequence.%n",
        linear / t / 1e9, linear / 1e12));
    md.append(f("- Causal attention FLOPs per sequence: 32 layers × 2 products × 2 × (4096·4097/2) × 128 × 32 heads "
        + "= **%.1f TFLOP** (%.0f %% of the sequence).%n", attn / 1e12, 100 * attn / (attn + linear)));
    md.append(f("- At the measured %.1f GFLOP/s per core for the linear part: %.1f TFLOP / %.1f GFLOP/s = **%.0f s**; "
        + "attention at the measured %.1f GFLOP/s (its kernel and statistics included): **%.0f s**; "
        + "per sequence **%.0f s** (%.1f min). %s%n", linearRate, linear / 1e12, linearRate, tLinear, attnRate,
        tAttn, perSeq, perSeq / 60, statNs > 0
            ? f("The statistics alone, %.3g attention scores × %.2f ns, would be %.0f s of it.", keys, statNs,
                keys * statNs / 1e9)
            : f("The statistics' own cost per score (calibrate minus plain CPU time, %.2f ns) was within the"
                + " rounds' noise here, so it is not split out.", statNs)));
    md.append(f("- 500 sequences on 64 executors: ⌈500/64⌉ = %d sequences on the busiest executor → "
        + "%d × %.0f s = **%.1f h** wall (%.0f core-hours in all, %.0f%% of the slots busy in the last wave).%n",
        perExecutor, perExecutor, perSeq, perExecutor * perSeq / 3600, seqs * perSeq / 3600,
        100.0 * (seqs - (perExecutor - 1) * executors) / executors));
    md.append(f("- State at this geometry (CalibrationState.sizeBytesFor, 8192 positions, job defaults): "
        + "**%.1f MB**. Measured merge of one serialized state into another at this size: %s; a depth-2 tree "
        + "aggregation leaves about √64 = 8 partial states for the driver: ≈ %s of driver merge, plus "
        + "moving 8 × %.1f MB over the network: negligible against %.1f h.%n", state / 1e6,
        Double.isNaN(mergeSec) ? "not measured (heap too small)" : f("%.2f s", mergeSec),
        Double.isNaN(mergeSec) ? "?" : f("%.1f s", 8 * mergeSec), state / 1e6, perExecutor * perSeq / 3600));
    md.append(f("- Memory per executor: the weights are %.0f GB as F32 (%.0f GB as F16, %.1f GB as Q8_0); they "
        + "stay memory-mapped in their stored encoding (page cache, not heap), so the JVM heap needs the "
        + "activations, KV cache and calibration state only.%n", params * 4 / 1e9, params * 2 / 1e9,
        params * 1.0625 / 1e9));
    try {
      new LlamaConfig(128256, 4096, 14336, 32, 32, 8, 128, 128, 500000.0, 1e-5, 8192,
          RopeLayout.ADJACENT_PAIRS, false, false);
    } catch (IllegalArgumentException e) {
      md.append("- **The decoder engine cannot load this model today**: LlamaConfig rejects it (\"" + e.getMessage()
          + "\"); the figures assume an engine that splits those matrices.\n");
    }
    md.append("- Caveats: per-core rates measured on a 768-wide model with one BLAS thread on a shared, "
        + "loaded machine; 4096-wide GEMMs usually run closer to peak, and the attention rate per FLOP "
        + "includes per-score work (softmax, statistics) that is relatively cheaper at head size 128 than "
        + "64, so this is a pessimistic estimate.\n");
    return md.toString();
  }

  /**
   * Peak heap of one calibration; with a type, the model is first written to a temporary GGUF file of
   * that type and loaded from it (weights memory-mapped), otherwise generated on the heap.
   */
  private static void memory(Path out, io.thetacal.model.TensorType type) throws Exception {
    LlamaConfig cfg = realistic();
    Path gguf = null;
    if (type != null) {
      gguf = java.nio.file.Files.createTempFile("thetacal-memory-", ".gguf");
      new GgufModelWriter(cfg, type).write(gguf, SEED, 1 / Math.sqrt(cfg.hiddenSize()));
    }
    try {
      PeakHeap peaks = new PeakHeap();
      long base = PeakHeap.liveNow();
      LlamaModel model = gguf == null ? DecoderBenchmark.randomModel(cfg, SEED) : LlamaModels.load(gguf);
      long modelBytes = PeakHeap.liveNow() - base;
      CalibrationState st = new CalibrationState(CalibrationGeometry.of(model.info()), jobConfig());
      PeakHeap.resetPoolPeaks();
      for (int l : LENGTHS) {
        model.forward(ForwardRequest.attentionOnly(sequences(cfg, l, TOKENS / l, SEED + l),
            AttentionMode.dense(), st));
      }
      String what = gguf == null ? "random LLaMA 12 × 768 (FFN 2048, vocab 32000)"
          : f("random LLaMA 12 × 768 (FFN 2048, vocab 32000) loaded from a %s GGUF of %.0f MB (weights memory-mapped)", type,
              java.nio.file.Files.size(gguf) / 1e6);
      Bench.write(out, f("| %s, calibration of 512 tokens as 4 × 128, "
          + "2 × 256, 1 × 512, state %d bytes | %.0f | %.0f | %.0f | %.0f | %s |%n", what, st.sizeBytes(),
          modelBytes / 1e6, peaks.maxAfterGc() / 1e6, PeakHeap.poolPeakSum() / 1e6, (modelBytes + 1e9) / 1e6,
          peaks.maxAfterGc() <= modelBytes + 1e9 ? "met (peak after GC)" : "NOT met"));
    } finally {
      if (gguf != null) {
        java.nio.file.Files.deleteIfExists(gguf);
      }
    }
  }
}
