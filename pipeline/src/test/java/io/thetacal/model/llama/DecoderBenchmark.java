package io.thetacal.model.llama;

import io.thetacal.attention.AttentionMode;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.Gemm;
import io.thetacal.model.ModelInfo;
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
 * <p>Run: {@code MAVEN_OPTS=--add-modules=jdk.incubator.vector mvn -B -q -pl pipeline test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=io.thetacal.model.llama.DecoderBenchmark -Dexec.args="docs/benchmarks-decoder.md"}
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

  static double[] rate(double[] seconds, double work) {
    double[] r = new double[seconds.length];
    for (int i = 0; i < r.length; i++) {
      r[i] = work / seconds[i];
    }
    return r;
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
    Path out = Path.of(args.length > 0 ? args[0] : "docs/benchmarks-decoder.md");
    int runs = Integer.getInteger("runs", 11);
    StringBuilder md = new StringBuilder();
    String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
        .filter(s -> s.startsWith("model name")).findFirst().map(s -> s.replaceFirst(".*:\\s*", ""))
        .orElse("unknown CPU");
    md.append("## Decoder prefill benchmark\n\n");
    String loadBefore = Files.readString(Path.of("/proc/loadavg")).trim();
    md.append(String.format(Locale.ROOT, "Machine: %s, %d cores visible to the JVM; Java %s; BLAS %s "
        + "(projections split over Java threads: %s).%n%n",
        cpu, Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
        Gemm.implementation(), Parallel.NATIVE_BLAS ? "no, the native BLAS threads itself" : "yes"));

    // 1. Peak: one large SGEMM, single thread and split over all cores like the engine's projections.
    int n = 1536;
    SplittableRandom rnd = new SplittableRandom(SEED);
    float[] a = random(rnd, n * n, 1);
    float[] b = random(rnd, n * n, 1);
    float[] cc = new float[n * n];
    double flops = 2.0 * n * n * n;
    Stat peak1 = Stat.of(rate(time(() -> Gemm.mul(n, n, n, a, b, cc), 2, 3 * runs), flops / 1e9));
    Stat peakSplit = Stat.of(rate(time(() -> Parallel.run(Parallel.THREADS, p -> {
      int rows = n / Parallel.THREADS;
      Gemm.mulTransposed(rows, n, n, 1f, a, p * rows * n, n, b, 0, n, 0f, cc, p * rows * n, n);
    }), 2, 3 * runs), 2.0 * (n / Parallel.THREADS) * Parallel.THREADS * n * n / 1e9));
    md.append("| measurement | median (min – max) |\n|---|---|\n");
    md.append(String.format(Locale.ROOT, "| SGEMM %d³, one Gemm.mul call (native BLAS: its own threads) | %s GFLOP/s |%n", n,
        peak1.fmt("%.1f")));
    md.append(String.format(Locale.ROOT, "| SGEMM %d³, rows split over %d Java threads (A·Bᵀ) | %s GFLOP/s |%n",
        n, Parallel.THREADS, peakSplit.fmt("%.1f")));
    double peak = Math.max(peak1.max(), peakSplit.max());
    md.append(String.format(Locale.ROOT, "| **measured SGEMM peak** (best run of either) | **%.1f GFLOP/s** |%n",
        peak));

    // 2. Tiny golden model.
    Path shared = Path.of(System.getProperty("thetacal.shared.dir", "../shared"));
    Path tinyPath = shared.resolve("golden/tiny-llama/tiny-llama-f32.gguf");
    if (Files.isRegularFile(tinyPath)) {
      LlamaModel tiny = LlamaModels.load(tinyPath);
      int[] tokens = new int[48];
      for (int i = 0; i < tokens.length; i++) {
        tokens[i] = 3 + (i * 37) % 297;
      }
      ForwardRequest req = ForwardRequest.of(List.of(tokens));
      double[] sec = time(() -> tiny.forward(req), 200, 50);
      Stat tps = Stat.of(rate(sec, tokens.length));
      Stat gf = Stat.of(rate(sec, prefillFlops(tiny.config(), tokens.length) / 1e9));
      md.append(String.format(Locale.ROOT, "| tiny-llama f32 (3 layers, width 64), prefill 48 tokens | %s tokens/s, %s GFLOP/s |%n",
          tps.fmt("%.0f"), gf.fmt("%.2f")));
    }

    // 3. Random model of realistic shape.
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
    double total = prefillFlops(cfg, t);
    double[] sec = time(() -> model.forward(req), 2, runs);
    Stat tps = Stat.of(rate(sec, t));
    Stat gf = Stat.of(rate(sec, total / 1e9));
    md.append(String.format(Locale.ROOT,
        "| random LLaMA (12 layers, 768 wide, 12/4 heads, FFN 2048, vocab 32000), prefill %d tokens, dense | %s tokens/s, %s GFLOP/s end to end (%.1f GFLOP per prefill) |%n",
        t, tps.fmt("%.0f"), gf.fmt("%.1f"), total / 1e9));
    ForwardRequest topK = req.withMode(AttentionMode.topK(64));
    Stat tpsK = Stat.of(rate(time(() -> model.forward(topK), 1, runs), t));
    md.append(String.format(Locale.ROOT, "| same, exact top-64 attention | %s tokens/s |%n", tpsK.fmt("%.0f")));

    // 4. The prefill's projection GEMMs alone, through the engine's path (Parallel.linear).
    int d = cfg.hiddenSize();
    int qkv = cfg.qDim() + 2 * cfg.kvDim();
    int ffn = cfg.intermediateSize();
    LlamaWeights.Layer l0 = model.weights().layers().get(0);
    float[] x = random(rnd, t * Math.max(ffn, d), 1);
    float[] y = new float[(t + 1) * Math.max(2 * ffn, cfg.vocabSize())];
    double projFlops = 2.0 * t * d * (qkv + cfg.qDim() + 3 * ffn);
    double[] projSec = time(() -> {
      Parallel.linear(t, qkv, d, x, 0, d, l0.wqkv(), 0, 0f, y, 0, qkv);
      Parallel.linear(t, d, cfg.qDim(), x, 0, cfg.qDim(), l0.wo(), 0, 0f, y, 0, d);
      Parallel.linear(t, 2 * ffn, d, x, 0, d, l0.wGateUp(), 0, 0f, y, 0, 2 * ffn);
      Parallel.linear(t, d, ffn, x, 0, ffn, l0.wDown(), 0, 0f, y, 0, d);
    }, 3, runs);
    Stat proj = Stat.of(rate(projSec, projFlops / 1e9));
    double[] headSec = time(() -> Parallel.linear(t, cfg.vocabSize(), d, x, 0, d,
        model.weights().output(), 0, 0f, y, 0, cfg.vocabSize()), 1, runs);
    Stat head = Stat.of(rate(headSec, 2.0 * t * d * cfg.vocabSize() / 1e9));
    md.append(String.format(Locale.ROOT, "| one layer's projection GEMMs (QKV, O, gate+up, down), %d tokens | %s GFLOP/s ; best run %.0f%% of the peak |%n",
        t, proj.fmt("%.1f"), 100 * proj.max() / peak));
    md.append(String.format(Locale.ROOT, "| output projection GEMM (%d × %d × %d) | %s GFLOP/s ; best run %.0f%% of the peak |%n",
        t, cfg.vocabSize(), d, head.fmt("%.1f"), 100 * head.max() / peak));
    double gemmSec = cfg.numLayers() * Stat.of(projSec).median() + Stat.of(headSec).median();
    double totalSec = Stat.of(sec).median();
    md.append(String.format(Locale.ROOT, "| time split of one %d-token prefill (medians) | %.2f s total: %.2f s "
        + "in the projection and output GEMMs, %.2f s (%.0f%%) in attention (score and W·V GEMMs, the shared "
        + "per-row softmax kernel) and element-wise work |%n", t, totalSec, gemmSec, totalSec - gemmSec,
        100 * (totalSec - gemmSec) / totalSec));
    md.append(String.format(Locale.ROOT, "%nBest end-to-end prefill run: %.0f%% of the measured SGEMM peak "
        + "(percentages compare best runs, since other processes only ever slow a run down; FLOPs counted: all projections, the causal (lower-triangle) score and weight·V products, the output projection; "
        + "norms, RoPE, softmax and SiLU not counted).%n", 100 * gf.max() / peak));
    md.append(String.format(Locale.ROOT, "%nSeed %d; %d timed runs after warm-up; medians with min – max. "
        + "Load average (/proc/loadavg) before: %s; after: %s. The machine is shared, so the spread "
        + "includes other processes' load.%n", SEED, runs, loadBefore,
        Files.readString(Path.of("/proc/loadavg")).trim()));
    md.append("\nCommand:\n\n    MAVEN_OPTS=--add-modules=jdk.incubator.vector mvn -B -q -pl pipeline test-compile exec:java -Dexec.classpathScope=test "
        + "-Dexec.mainClass=io.thetacal.model.llama.DecoderBenchmark -Dexec.args=docs/benchmarks-decoder.md\n");
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, md.toString());
    System.out.print(md);
  }
}
