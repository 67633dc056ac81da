package io.thetacal.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionStats;
import io.thetacal.attention.Placement;
import io.thetacal.attention.ThresholdLookup;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.TensorType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaSlidingWindowTest {
  private final LlamaModel base = LlamaModels.load(Golden.file("tiny-llama-f32.gguf"));
  private final int[] tokens = Golden.tokens();

  @TempDir
  Path tmp;

  private LlamaModel windowed(int window) {
    return new LlamaModel(base.info(), base.config().withSlidingWindow(window), base.weights(), null);
  }

  @Test
  void aWindowAtLeastTheSequenceLengthIsNoWindowBitForBit() {
    float[] none = LlamaGoldenLogitsTest.logits(base);
    assertArrayEquals(none, LlamaGoldenLogitsTest.logits(windowed(Golden.T)));
    assertArrayEquals(none, LlamaGoldenLogitsTest.logits(windowed(1000)));
  }

  @Test
  void aSmallWindowEqualsDirectMaskingInAFloat64Reference() {
    for (int window : new int[] {1, 5, 16}) {
      float[] got = LlamaGoldenLogitsTest.logits(windowed(window));
      double[] ref = reference(base, tokens, window);
      double diff = 0;
      for (int i = 0; i < got.length; i++) {
        diff = Math.max(diff, Math.abs(got[i] - ref[i]));
      }
      assertTrue(diff < 1e-4, "window " + window + ": max abs diff " + diff);
      assertTrue(Golden.maxAbsDiff(got, LlamaGoldenLogitsTest.logits(base)) > 1e-2, "the window must matter");
    }
    double[] full = reference(base, tokens, Integer.MAX_VALUE);
    float[] none = LlamaGoldenLogitsTest.logits(base);
    for (int i = 0; i < none.length; i++) {
      assertEquals(full[i], none[i], 1e-4);
    }
  }

  @Test
  void rowsSeeOnlyTheWindowAndDecodingMatchesPrefill() {
    int window = 7;
    LlamaModel m = windowed(window);
    int[] rows = new int[1];
    float[] firstScores = new float[Golden.T];
    AttentionObserver capture = row -> {
      assertEquals(Math.min(row.row() + 1, window), row.n(), "row " + row.row());
      if (row.layer() == 0 && row.head() == 0) {
        firstScores[row.row()] = row.score(0);
      }
      rows[0]++;
    };
    ForwardResult r = m.forward(ForwardRequest.of(List.of(tokens)).withObserver(capture));
    assertEquals(3 * 8 * Golden.T, rows[0]);
    long visible = 0;
    for (int p = 0; p < Golden.T; p++) {
      visible += Math.min(p + 1, window);
    }
    for (int l = 0; l < 3; l++) {
      assertEquals(2 * visible, r.stats().vRowsVisible(l));
      assertEquals(2 * visible, r.stats().vRowsNeeded(l), "dense attention needs every visible V row");
    }
    float[] full = r.sequences().get(0).logits();
    DecoderSession s = m.newSession(AttentionMode.dense(), null, null, 0);
    float[] stepped = new float[full.length];
    System.arraycopy(s.prefill(Arrays.copyOf(tokens, 10)), 0, stepped, 0, 10 * Golden.VOCAB);
    for (int i = 10; i < tokens.length; i++) {
      System.arraycopy(s.step(tokens[i]), 0, stepped, i * Golden.VOCAB, Golden.VOCAB);
    }
    assertTrue(Golden.maxAbsDiff(full, stepped) < 1e-5);
  }

  @Test
  void vMeanCompensationAveragesTheWindowOnly() {
    // θ = 2 on probabilities prunes every key of rows with n > 1; VMC then puts all mass on the mean of
    // the visible V rows, which is what uniform dense attention over the window computes.
    int window = 6;
    AttentionMode dropAll = AttentionMode.topTheta(constant(2f), 1).withVmc(true);
    ForwardRequest req = ForwardRequest.of(List.of(tokens));
    float[] pruned = windowed(window).forward(req.withMode(dropAll)).sequences().get(0).logits();
    LlamaConfig c = base.config().withSlidingWindow(window);
    List<LlamaWeights.Layer> layers = new java.util.ArrayList<>();
    for (LlamaWeights.Layer l : base.weights().layers()) {
      float[] wqkv = l.wqkv().toFloats();
      Arrays.fill(wqkv, 0, c.qDim() * c.hiddenSize(), 0f);
      layers.add(new LlamaWeights.Layer(l.attnNorm(), io.thetacal.model.WeightMatrix.of(wqkv, l.wqkv().rows(),
          l.wqkv().cols()), null, l.wo(), l.ffnNorm(), l.wGateUp(), l.wDown()));
    }
    LlamaWeights w = base.weights();
    LlamaModel uniform = new LlamaModel(base.info(), c, new LlamaWeights(w.embedding(), layers, w.outputNorm(),
        w.output()), null);
    double diff = Golden.maxAbsDiff(uniform.forward(req).sequences().get(0).logits(), pruned);
    assertTrue(diff < 1e-5, "diff " + diff);
  }

  @Test
  void loadersReadTheWindowFromConfigJsonAndGgufMetadata() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("hf"));
    Files.copy(Golden.file("hf/model.safetensors"), dir.resolve("model.safetensors"));
    String cfg = Files.readString(Golden.file("hf/config.json"));
    Files.writeString(dir.resolve("config.json"), cfg.replace("\"model_type\": \"llama\"",
        "\"model_type\": \"mistral\", \"sliding_window\": 5"));
    LlamaModel hf = LlamaModels.load(dir);
    assertEquals(5, hf.config().slidingWindow());
    double diff = Golden.maxAbsDiff(LlamaGoldenLogitsTest.logits(hf), LlamaGoldenLogitsTest.logits(windowed(5)));
    assertTrue(diff < 1e-4, "HF (rotate-half) and GGUF (adjacent pairs) windowed logits differ by " + diff);
    Files.writeString(dir.resolve("config.json"), cfg.replace("\"model_type\": \"llama\"",
        "\"model_type\": \"mistral\", \"sliding_window\": null"));
    assertEquals(0, LlamaModels.load(dir).config().slidingWindow());
    Files.writeString(dir.resolve("config.json"), cfg.replace("\"model_type\": \"llama\"",
        "\"model_type\": \"mistral\", \"sliding_window\": -3"));
    Exception e = org.junit.jupiter.api.Assertions.assertThrows(io.thetacal.model.ModelLoadException.class,
        () -> LlamaModels.load(dir));
    assertTrue(e.getMessage().contains("'sliding_window' is set to -3"), e.getMessage());

    LlamaConfig small = new LlamaConfig(64, 32, 64, 1, 4, 2, 8, 8, 10000.0, 1e-5, 64, RopeLayout.ADJACENT_PAIRS,
        false, false);
    Path gguf = tmp.resolve("mistral.gguf");
    new GgufModelWriter(small, TensorType.F32).metadata("llama.attention.sliding_window", 9L).write(gguf, 1, 0.1);
    assertEquals(9, LlamaModels.load(gguf).config().slidingWindow());
  }

  private static ThresholdLookup constant(float theta) {
    return ThresholdLookup.constant(theta, Placement.POST_SOFTMAX);
  }

  /**
   * Float64 forward pass with an explicit mask (key j visible to query i iff j ≤ i and i − j < window),
   * written independently of the engine: plain loops over the decoded weights.
   */
  static double[] reference(LlamaModel m, int[] tokens, int window) {
    LlamaConfig c = m.config();
    LlamaWeights w = m.weights();
    int d = c.hiddenSize();
    int t = tokens.length;
    int hd = c.headDim();
    int qd = c.qDim();
    int kvd = c.kvDim();
    int ffn = c.intermediateSize();
    float[] emb = w.embedding().toFloats();
    double[][] x = new double[t][d];
    for (int i = 0; i < t; i++) {
      for (int e = 0; e < d; e++) {
        x[i][e] = emb[tokens[i] * d + e];
      }
    }
    for (LlamaWeights.Layer lw : w.layers()) {
      double[][] xn = rms(x, lw.attnNorm(), c.rmsNormEps());
      double[][] qkv = matmul(xn, lw.wqkv().toFloats(), qd + 2 * kvd);
      for (int i = 0; i < t; i++) {
        for (int h = 0; h < c.numHeads() + c.numKvHeads(); h++) {
          for (int p = 0; p < hd / 2; p++) {
            double angle = i * Math.pow(c.ropeTheta(), -2.0 * p / hd);
            int a = h * hd + 2 * p;
            double x0 = qkv[i][a];
            double x1 = qkv[i][a + 1];
            qkv[i][a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
            qkv[i][a + 1] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
          }
        }
      }
      double[][] attn = new double[t][qd];
      for (int h = 0; h < c.numHeads(); h++) {
        int g = h / c.groupSize();
        for (int i = 0; i < t; i++) {
          double[] s = new double[t];
          double max = Double.NEGATIVE_INFINITY;
          for (int j = 0; j <= i; j++) {
            if (i - j < window) {
              double dot = 0;
              for (int e = 0; e < hd; e++) {
                dot += qkv[i][h * hd + e] * qkv[j][qd + g * hd + e];
              }
              s[j] = dot / Math.sqrt(hd);
              max = Math.max(max, s[j]);
            }
          }
          double z = 0;
          for (int j = 0; j <= i; j++) {
            s[j] = i - j < window ? Math.exp(s[j] - max) : 0;
            z += s[j];
          }
          for (int j = 0; j <= i; j++) {
            for (int e = 0; e < hd; e++) {
              attn[i][h * hd + e] += s[j] / z * qkv[j][qd + kvd + g * hd + e];
            }
          }
        }
      }
      add(x, matmul(attn, lw.wo().toFloats(), d));
      xn = rms(x, lw.ffnNorm(), c.rmsNormEps());
      double[][] gu = matmul(xn, lw.wGateUp().toFloats(), 2 * ffn);
      double[][] act = new double[t][ffn];
      for (int i = 0; i < t; i++) {
        for (int j = 0; j < ffn; j++) {
          double g = gu[i][j];
          act[i][j] = g / (1 + Math.exp(-g)) * gu[i][ffn + j];
        }
      }
      add(x, matmul(act, lw.wDown().toFloats(), d));
    }
    double[][] logits = matmul(rms(x, w.outputNorm(), c.rmsNormEps()), w.output().toFloats(), c.vocabSize());
    double[] out = new double[t * c.vocabSize()];
    for (int i = 0; i < t; i++) {
      System.arraycopy(logits[i], 0, out, i * c.vocabSize(), c.vocabSize());
    }
    return out;
  }

  private static double[][] rms(double[][] x, float[] weight, double eps) {
    double[][] out = new double[x.length][];
    for (int i = 0; i < x.length; i++) {
      double ss = 0;
      for (double v : x[i]) {
        ss += v * v;
      }
      double scale = 1 / Math.sqrt(ss / x[i].length + eps);
      out[i] = new double[x[i].length];
      for (int e = 0; e < x[i].length; e++) {
        out[i][e] = x[i][e] * scale * weight[e];
      }
    }
    return out;
  }

  /** x [t × k] times W [n × k]ᵀ. */
  private static double[][] matmul(double[][] x, float[] w, int n) {
    int k = x[0].length;
    double[][] y = new double[x.length][n];
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int e = 0; e < k; e++) {
          s += x[i][e] * w[j * k + e];
        }
        y[i][j] = s;
      }
    }
    return y;
  }

  private static void add(double[][] x, double[][] y) {
    for (int i = 0; i < x.length; i++) {
      for (int e = 0; e < x[i].length; e++) {
        x[i][e] += y[i][e];
      }
    }
  }
}
