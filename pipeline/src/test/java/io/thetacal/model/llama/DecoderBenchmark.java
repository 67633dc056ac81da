package io.thetacal.model.llama;

import io.thetacal.attention.AttentionMode;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.Gemm;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.TensorType;
import io.thetacal.model.gguf.GgufFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Prefill throughput of the decoder engine next to this machine's measured SGEMM peak. Runs the golden
 * tiny model and a seeded random model of realistic shape (12 layers, width 768, 12 query / 4 KV heads,
 * FFN 2048, vocabulary 32000, 512 tokens) and the GEMM shapes of one prefill through the engine's own
 * projection path. Warm-up, then repeated runs; medians with min-max spread. Writes a markdown table.
 *
 * <p>Run: {@code bin/bench --only decoder}.
 */
public final class DecoderBenchmark {
  private static final long SEED = 20250211L;

  private DecoderBenchmark() {
  }

  record Stat(double median, double min, double max) {
    static Stat of(double[] v) {
      double[] s = v.clone();
      Arrays.sort(s);
      int n = s.length;
      double med = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
      return new Stat(med, s[0], s[n - 1]);
    }

    String fmt(String f) {
      return String.format(Locale.ROOT, f + " (" + f + " – " + f + ")", median, min, max);
    }
  }

  interface Body {
    void run();
  }

  /** Seconds per run, after warm-up. */
  static double[] time(Body body, int warmup, int runs) {
    for (int i = 0; i < warmup; i++) {
      body.run();
    }
    double[] out = new double[runs];
    for (int i = 0; i < runs; i++) {
      long t0 = System.nanoTime();
      body.run();
      out[i] = (System.nanoTime() - t0) / 1e9;
    }
    return out;
  }

  /** Process CPU seconds per run (all threads), after warm-up: less sensitive to other processes' load. */
  static double[] cpuTime(Body body, int warmup, int runs) {
    com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    for (int i = 0; i < warmup; i++) {
      body.run();
    }
    double[] out = new double[runs];
    for (int i = 0; i < runs; i++) {
      long c0 = os.getProcessCpuTime();
      body.run();
      out[i] = (os.getProcessCpuTime() - c0) / 1e9;
    }
    return out;
  }

  static float[] random(SplittableRandom rnd, int n, double std) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (rnd.nextGaussian() * std);
    }
    return a;
  }

  static float[] norm(SplittableRandom rnd, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (1 + 0.1 * rnd.nextGaussian());
    }
    return a;
  }

  /** A seeded random LLaMA of the given shape, built through the same model class as loaded ones. */
  static LlamaModel randomModel(LlamaConfig c, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int d = c.hiddenSize();
    double std = 1 / Math.sqrt(d);
    List<LlamaWeights.Layer> layers = new ArrayList<>();
    for (int l = 0; l < c.numLayers(); l++) {
      layers.add(new LlamaWeights.Layer(norm(rnd, d), random(rnd, (c.qDim() + 2 * c.kvDim()) * d, 2 * std),
          null, random(rnd, d * c.qDim(), std), norm(rnd, d),
          random(rnd, 2 * c.intermediateSize() * d, std), random(rnd, d * c.intermediateSize(),
              1 / Math.sqrt(c.intermediateSize()))));
    }
    float[] emb = random(rnd, c.vocabSize() * d, 1);
    LlamaWeights w = new LlamaWeights(emb, layers, norm(rnd, d), random(rnd, c.vocabSize() * d, std));
    ModelInfo info = LlamaModel.infoOf("random-seed-" + seed, "none", "random", c);
    return new LlamaModel(info, c, w, null);
  }

  /**
   * Useful multiply-add FLOPs (2 per MAC) of one prefill of t tokens: projections, the causal (lower
   * triangle) score and weight·V products, the output projection.
   */
  static double prefillFlops(LlamaConfig c, int t) {
    double d = c.hiddenSize();
    double perLayer = 2.0 * t * d * (c.qDim() + 2 * c.kvDim()) + 2.0 * t * c.qDim() * d
        + 2.0 * t * d * 3 * c.intermediateSize()
        + 2.0 * 2 * ((double) t * (t + 1) / 2) * c.headDim() * c.numHeads();
    return c.numLayers() * perLayer + 2.0 * t * d * c.vocabSize();
  }

  public static void main(String[] args) throws IOException {
    Path out = Path.of(args.length > 0 ? args[0] : "target/bench/decoder.md");
    int rounds = Integer.getInteger("rounds", 9);
    StringBuilder md = new StringBuilder();
    String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
        .filter(s -> s.startsWith("model name")).findFirst().map(s -> s.replaceFirst(".*:\\s*", ""))
        .orElse("unknown CPU");
    String loadBefore = Files.readString(Path.of("/proc/loadavg")).trim();
    md.append("## Decoder prefill benchmark\n\n");
    md.append(String.format(Locale.ROOT, "Machine: %s, %d cores visible to the JVM; Java %s; BLAS %s "
        + "(projections split over Java threads: %s).%n%n",
        cpu, Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
        Gemm.implementation(), Parallel.NATIVE_BLAS ? "no, the native BLAS threads itself" : "yes"));

    // Peak reference: one large SGEMM through the engine's projection path.
    int n = 1536;
    SplittableRandom rnd = new SplittableRandom(SEED);
    float[] a = random(rnd, n * n, 1);
    float[] b = random(rnd, n * n, 1);
    float[] cc = new float[(n + 1) * n];
    double peakFlops = 2.0 * n * n * n;
    Body peakGemm = () -> Parallel.linear(n, n, n, a, 0, n, b, 0, 0f, cc, 0, n);

    // Tiny golden model.
    Path shared = Path.of(System.getProperty("thetacal.shared.dir", "../shared"));
    LlamaModel tiny = LlamaModels.load(shared.resolve("golden/tiny-llama/tiny-llama-f32.gguf"));
    int[] tinyTokens = new int[48];
    for (int i = 0; i < tinyTokens.length; i++) {
      tinyTokens[i] = 3 + (i * 37) % 297;
    }
    ForwardRequest tinyReq = ForwardRequest.of(List.of(tinyTokens));

    // Random model of realistic shape.
    int t = 512;
    LlamaConfig cfg = new LlamaConfig(32000, 768, 2048, 12, 12, 4, 64, 64, 10000.0, 1e-5, 2048,
        RopeLayout.ADJACENT_PAIRS, false, false);
    LlamaModel model = randomModel(cfg, SEED);
    int[] tokens = new int[t];
    SplittableRandom tr = new SplittableRandom(SEED + 1);
    for (int i = 0; i < t; i++) {
      tokens[i] = tr.nextInt(cfg.vocabSize());
    }
    ForwardRequest req = ForwardRequest.of(List.of(tokens));
    ForwardRequest topK = req.withMode(AttentionMode.topK(64));
    int d = cfg.hiddenSize();
    int qkv = cfg.qDim() + 2 * cfg.kvDim();
    int ffn = cfg.intermediateSize();
    LlamaWeights.Layer l0 = model.weights().layers().get(0);
    float[] x = random(rnd, t * Math.max(ffn, d), 1);
    float[] y = new float[(t + 1) * Math.max(2 * ffn, cfg.vocabSize())];
    Body projections = () -> {
      Parallel.linear(t, qkv, d, x, 0, d, l0.wqkv(), 0f, y, 0, qkv);
      Parallel.linear(t, d, cfg.qDim(), x, 0, cfg.qDim(), l0.wo(), 0f, y, 0, d);
      Parallel.linear(t, 2 * ffn, d, x, 0, d, l0.wGateUp(), 0f, y, 0, 2 * ffn);
      Parallel.linear(t, d, ffn, x, 0, ffn, l0.wDown(), 0f, y, 0, d);
    };
    Body head = () -> Parallel.linear(t, cfg.vocabSize(), d, x, 0, d, model.weights().output(), 0f, y, 0,
        cfg.vocabSize());
    // The same shapes with the weights left in a GGUF file (one block written per encoding) and decoded in
    // tiles inside the products, as loaded checkpoints run.
    List<TensorType> types = List.of(TensorType.F32, TensorType.F16, TensorType.Q8_0);
    List<Body> mappedProj = new ArrayList<>();
    List<Body> mappedHead = new ArrayList<>();
    List<Body> mappedPrefill = new ArrayList<>();
    LlamaConfig oneBlock = new LlamaConfig(cfg.vocabSize(), d, ffn, 1, cfg.numHeads(), cfg.numKvHeads(),
        cfg.headDim(), cfg.ropeDim(), cfg.ropeTheta(), cfg.rmsNormEps(), cfg.maxPositions(), cfg.ropeLayout(),
        false, false);
    for (TensorType type : types) {
      Path file = Files.createTempFile("thetacal-bench-" + type + "-", ".gguf");
      file.toFile().deleteOnExit();
      new GgufModelWriter(oneBlock, type).write(file, SEED, 1 / Math.sqrt(d));
      LlamaWeights mw = LlamaModels.loadGguf(GgufFile.open(file), "benchmark").weights();
      LlamaWeights.Layer m0 = mw.layers().get(0);
      mappedProj.add(() -> {
        Parallel.linear(t, qkv, d, x, 0, d, m0.wqkv(), 0f, y, 0, qkv);
        Parallel.linear(t, d, cfg.qDim(), x, 0, cfg.qDim(), m0.wo(), 0f, y, 0, d);
        Parallel.linear(t, 2 * ffn, d, x, 0, d, m0.wGateUp(), 0f, y, 0, 2 * ffn);
        Parallel.linear(t, d, ffn, x, 0, ffn, m0.wDown(), 0f, y, 0, d);
      });
      mappedHead.add(() -> Parallel.linear(t, cfg.vocabSize(), d, x, 0, d, mw.output(), 0f, y, 0,
          cfg.vocabSize()));
      LlamaModel deep = new LlamaModel(model.info(), cfg, new LlamaWeights(mw.embedding(),
          java.util.Collections.nCopies(cfg.numLayers(), m0), mw.outputNorm(), mw.output()), null);
      mappedPrefill.add(() -> deep.forward(req));
    }
    double projFlops = 2.0 * t * d * (qkv + cfg.qDim() + 3 * ffn);
    double headFlops = 2.0 * t * d * cfg.vocabSize();
    double total = prefillFlops(cfg, t);

    // Warm-up, then rounds that interleave every measurement, so each round's ratios share its load.
    time(peakGemm, 3, 1);
    time(() -> tiny.forward(tinyReq), 200, 1);
    time(() -> model.forward(req), 1, 1);
    time(() -> model.forward(topK), 1, 1);
    time(projections, 3, 1);
    time(head, 2, 1);
    for (int i = 0; i < types.size(); i++) {
      time(mappedProj.get(i), 2, 1);
      time(mappedHead.get(i), 1, 1);
      time(mappedPrefill.get(i), 1, 1);
    }
    double[][] mappedE2e = new double[types.size()][rounds];
    double[][] mappedCpuRatio = new double[types.size()][rounds];
    double[][] mappedProjRatio = new double[types.size()][rounds];
    double[][] mappedHeadRatio = new double[types.size()][rounds];
    double[] peak = new double[rounds];
    double[] tinyTps = new double[rounds];
    double[] tps = new double[rounds];
    double[] tpsK = new double[rounds];
    double[] proj = new double[rounds];
    double[] headRate = new double[rounds];
    double[] projRatio = new double[rounds];
    double[] headRatio = new double[rounds];
    double[] e2eRatio = new double[rounds];
    double[] gemmShare = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      double p = peakFlops / 1e9 / median(time(peakGemm, 0, 3));
      double tinySec = median(time(() -> tiny.forward(tinyReq), 0, 20));
      double fwd = time(() -> model.forward(req), 0, 1)[0];
      double fwdK = time(() -> model.forward(topK), 0, 1)[0];
      double projSec = median(time(projections, 0, 3));
      double headSec = median(time(head, 0, 1));
      double[] mp = new double[types.size()];
      double[] mh = new double[types.size()];
      for (int i = 0; i < types.size(); i++) {
        mp[i] = projFlops / 1e9 / median(time(mappedProj.get(i), 0, 3));
        mh[i] = headFlops / 1e9 / median(time(mappedHead.get(i), 0, 1));
        mappedE2e[i][r] = total / 1e9 / time(mappedPrefill.get(i), 0, 1)[0];
      }
      // heap and mapped projections alternated, CPU time: the cost of decoding tiles from the mapping
      for (int i = 0; i < types.size(); i++) {
        double heapCpu = median(cpuTime(projections, 0, 3));
        double mappedCpu = median(cpuTime(mappedProj.get(i), 0, 3));
        double heapCpu2 = median(cpuTime(projections, 0, 3));
        mappedCpuRatio[i][r] = Math.min(heapCpu, heapCpu2) / mappedCpu;
      }
      double p2 = peakFlops / 1e9 / median(time(peakGemm, 0, 3));
      peak[r] = Math.max(p, p2);
      for (int i = 0; i < types.size(); i++) {
        mappedProjRatio[i][r] = mp[i] / peak[r];
        mappedHeadRatio[i][r] = mh[i] / peak[r];
        mappedE2e[i][r] /= peak[r];
      }
      tinyTps[r] = tinyTokens.length / tinySec;
      tps[r] = t / fwd;
      tpsK[r] = t / fwdK;
      proj[r] = projFlops / 1e9 / projSec;
      headRate[r] = headFlops / 1e9 / headSec;
      projRatio[r] = proj[r] / peak[r];
      headRatio[r] = headRate[r] / peak[r];
      e2eRatio[r] = total / 1e9 / fwd / peak[r];
      gemmShare[r] = (cfg.numLayers() * projSec + headSec) / fwd;
    }
    Stat pk = Stat.of(peak);
    md.append("| measurement | median (min – max) over rounds |\n|---|---|\n");
    md.append(String.format(Locale.ROOT, "| SGEMM peak: %d³ through the engine's GEMM path (best of 3 per round) | %s GFLOP/s |%n",
        n, pk.fmt("%.1f")));
    md.append(String.format(Locale.ROOT, "| tiny-llama f32 (3 layers, width 64), prefill 48 tokens | %s tokens/s = %s GFLOP/s |%n",
        Stat.of(tinyTps).fmt("%.0f"), Stat.of(scale(tinyTps, prefillFlops(tiny.config(), 48) / 48 / 1e9)).fmt("%.2f")));
    md.append(String.format(Locale.ROOT, "| random LLaMA (12 layers, 768 wide, 12 query / 4 KV heads, FFN 2048, vocab 32000), "
        + "prefill %d tokens, dense | %s tokens/s = %s GFLOP/s (%.1f GFLOP per prefill) |%n",
        t, Stat.of(tps).fmt("%.0f"), Stat.of(scale(tps, total / t / 1e9)).fmt("%.1f"), total / 1e9));
    md.append(String.format(Locale.ROOT, "| same, exact top-64 attention | %s tokens/s |%n", Stat.of(tpsK).fmt("%.0f")));
    md.append(String.format(Locale.ROOT, "| one layer's projection GEMMs (QKV, O, gate+up, down) at %d tokens | %s GFLOP/s |%n",
        t, Stat.of(proj).fmt("%.1f")));
    md.append(String.format(Locale.ROOT, "| output projection GEMM (%d × %d × %d) | %s GFLOP/s |%n",
        t, cfg.vocabSize(), d, Stat.of(headRate).fmt("%.1f")));
    md.append(String.format(Locale.ROOT, "| **projection GEMMs / peak of the same round** | **%s %%** |%n",
        Stat.of(scale(projRatio, 100)).fmt("%.0f")));
    md.append(String.format(Locale.ROOT, "| **output GEMM / peak of the same round** | **%s %%** |%n",
        Stat.of(scale(headRatio, 100)).fmt("%.0f")));
    for (int i = 0; i < types.size(); i++) {
      md.append(String.format(Locale.ROOT, "| **projection GEMMs / peak, weights memory-mapped as %s (tiles decoded per GEMM)** | **%s %%** |%n",
          types.get(i), Stat.of(scale(mappedProjRatio[i], 100)).fmt("%.0f")));
      md.append(String.format(Locale.ROOT, "| output GEMM / peak, weights memory-mapped as %s | %s %% |%n",
          types.get(i), Stat.of(scale(mappedHeadRatio[i], 100)).fmt("%.0f")));
    }
    md.append(String.format(Locale.ROOT, "| **end-to-end prefill / peak of the same round** | **%s %%** |%n",
        Stat.of(scale(e2eRatio, 100)).fmt("%.0f")));
    for (int i = 0; i < types.size(); i++) {
      md.append(String.format(Locale.ROOT, "| **projection GEMMs: heap-matrix CPU time / memory-mapped %s CPU time (interleaved, process CPU)** | **%s %%** |%n",
          types.get(i), Stat.of(scale(mappedCpuRatio[i], 100)).fmt("%.0f")));
    }
    for (int i = 0; i < types.size(); i++) {
      md.append(String.format(Locale.ROOT, "| end-to-end prefill / peak, weights memory-mapped as %s (one block's weights used by all %d layers) | %s %% |%n",
          types.get(i), cfg.numLayers(), Stat.of(scale(mappedE2e[i], 100)).fmt("%.0f")));
    }
    md.append(String.format(Locale.ROOT, "| share of a prefill spent in the projection and output GEMMs (estimated from the isolated timings) | %s %% |%n",
        Stat.of(scale(gemmShare, 100)).fmt("%.0f")));
    md.append(String.format(Locale.ROOT, "%nFLOPs counted: all projections, the causal (lower-triangle) score and "
        + "weight·V products, the output projection; norms, RoPE, softmax and SiLU are not counted. "
        + "Each of the %d rounds runs every measurement once (peak before and after, best taken), so the "
        + "ratios compare runs made under the same machine load.%n", rounds));
    md.append(String.format(Locale.ROOT, "%nSeed %d. Load average (/proc/loadavg) before: %s; after: %s. "
        + "The machine is shared, so the spread includes other processes' load.%n", SEED, loadBefore,
        Files.readString(Path.of("/proc/loadavg")).trim()));
    md.append(String.format(Locale.ROOT, "%nLoaded checkpoints keep their weights memory-mapped in the stored "
        + "encoding: each product decodes %d to %d weight rows at a time (about %d floats) into a per-thread "
        + "scratch buffer and multiplies all %d activation rows with that tile, so decoding is paid once per "
        + "weight row per product. The mapped rows use one block of the same shapes written to a GGUF file "
        + "per encoding; the first end-to-end row uses the heap-resident random model, the mapped ones a model whose "
        + "12 layers all read that one mapped block (so its weights may stay warmer in the CPU caches than 12 "
        + "distinct blocks would).%n",
        Parallel.MIN_TILE_ROWS, Parallel.MAX_TILE_ROWS, Parallel.TILE_FLOATS, t));
    md.append("\nNotes:\n\n- With a native BLAS (OpenBLAS), the engine leaves threading to the BLAS and runs attention on one Java thread. Entering OpenBLAS from two Java threads at once made the many small per-head score and W·V GEMMs (64-row blocks × n keys × 64) 50 to 100 times slower on this machine: 8.7 to 20.6 s of GEMM time per 512-token prefill of the random model (summed over both threads), against 0.15 to 0.23 s with OpenBLAS limited to one thread.\n- Prefill attention is computed in causal blocks of 64 rows, so the masked upper triangle is not multiplied.\n- Exact top-k is slower than dense here: the engine still computes every score, and the per-row top-k selection in the shared attention kernel adds work. Top-θ replaces that selection by a compare.\n- The time outside the projection GEMMs is attention (score and W·V GEMMs, the per-row softmax kernel) and element-wise work (RMSNorm, RoPE, SiLU).\n");
    md.append("\nCommand: `bin/bench --only decoder` (main class io.thetacal.model.llama.DecoderBenchmark, "
        + "argument: the output file; -Drounds=N).\n\n");
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, md.toString());
    System.out.print(md);
  }

  static double median(double[] v) {
    return Stat.of(v).median();
  }

  static double[] scale(double[] v, double f) {
    double[] o = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      o[i] = v[i] * f;
    }
    return o;
  }
}
