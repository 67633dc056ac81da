package io.thetacal.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionStats;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class LlamaAttentionCaptureTest {
  private static final int L = 3;
  private static final int H = 8;
  private static final int T = Golden.T;

  @ParameterizedTest
  @ValueSource(strings = {"tiny-llama-f32.gguf", "hf"})
  void capturedScoresAndProbabilitiesMatchLlamaCpp(String file) {
    LlamaModel model = LlamaModels.load(Golden.file(file));
    float[][] scores = new float[L][H * T * T];
    double[][] probs = new double[L][H * T * T];
    int[] rows = new int[1];
    AttentionObserver capture = row -> {
      assertEquals(row.row() + 1, row.n(), "causal row sees row + 1 keys");
      int base = (row.head() * T + row.row()) * T;
      for (int j = 0; j < row.n(); j++) {
        scores[row.layer()][base + j] = row.score(j);
        probs[row.layer()][base + j] = row.probabilityOf(row.score(j));
      }
      rows[0]++;
    };
    model.forward(ForwardRequest.of(List.of(Golden.tokens())).withObserver(capture));
    assertEquals(L * H * T, rows[0]);
    double sqrt8 = Math.sqrt(8);
    for (int l = 0; l < L; l++) {
      float[] kq = Golden.floats("kq-" + l + ".f32");
      float[] soft = Golden.floats("kq_soft_max-" + l + ".f32");
      double maxScore = 0;
      double maxProb = 0;
      for (int h = 0; h < H; h++) {
        for (int i = 0; i < T; i++) {
          for (int j = 0; j <= i; j++) {
            int at = (h * T + i) * T + j;
            maxScore = Math.max(maxScore, Math.abs(scores[l][at] * sqrt8 - kq[at]));
            maxProb = Math.max(maxProb, Math.abs(probs[l][at] - soft[at]));
          }
        }
      }
      assertTrue(maxScore <= 1e-3, file + " layer " + l + " score diff " + maxScore);
      assertTrue(maxProb <= 1e-5, file + " layer " + l + " probability diff " + maxProb);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny-llama-f32.gguf", "hf", "tiny-llama-f16.gguf"})
  void greedyContinuationMatchesLlamaCpp(String file) {
    LlamaModel model = LlamaModels.load(Golden.file(file));
    var greedy = Golden.json("greedy.json");
    int[] prompt = Golden.ints(greedy.get("prompt_tokens"));
    String variant = file.contains("f16") ? "f16" : "f32";
    int[] expected = Golden.ints(greedy.get("variants").get(variant).get("generated"));
    float[] stepLogits = new float[expected.length * Golden.VOCAB];
    int[] got = model.newSession(AttentionMode.dense(), AttentionObserver.NONE, null, 0)
        .generateGreedy(prompt, expected.length, stepLogits);
    assertArrayEquals(expected, got);
    double diff = Golden.maxAbsDiff(stepLogits, Golden.floats("greedy-logits-" + variant + ".f32"));
    assertTrue(diff <= (variant.equals("f32") ? 1e-4 : 1e-2), "step logits diff " + diff);
  }

  @Test
  void q8GreedyFollowsLlamaCppQ8WhereItLeavesTheF32Path() {
    LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-q8_0.gguf"));
    var greedy = Golden.json("greedy.json");
    int[] prompt = Golden.ints(greedy.get("prompt_tokens"));
    var q8 = greedy.get("variants").get("q8_0");
    int[] expected = Golden.ints(q8.get("generated"));
    int departs = q8.get("first_step_differing_from_f32").asInt();
    int[] got = model.generateGreedy(prompt, expected.length);
    // llama.cpp also quantizes activations inside Q8_0 matmuls, so the continuations may part later on;
    // up to two steps past the point where Q8_0 leaves the f32 continuation they must agree
    assertArrayEquals(java.util.Arrays.copyOf(expected, departs + 2), java.util.Arrays.copyOf(got, departs + 2));
  }

  @Test
  void chunkedPrefillThenStepsEqualsOneForwardPass() {
    LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-f32.gguf"));
    // 150 tokens: several causal row blocks, and chunks that start mid-cache
    int[] tokens = new int[150];
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
    tokens[0] = 1;
    for (int i = 1; i < tokens.length; i++) {
      tokens[i] = 3 + rnd.nextInt(297);
    }
    float[] full = model.forward(ForwardRequest.of(List.of(tokens))).sequences().get(0).logits();
    DecoderSession s = model.newSession(AttentionMode.dense(), AttentionObserver.NONE, null, 0);
    float[] stepped = new float[full.length];
    float[] first = s.prefill(java.util.Arrays.copyOfRange(tokens, 0, 70));
    System.arraycopy(first, 0, stepped, 0, first.length);
    float[] second = s.prefill(java.util.Arrays.copyOfRange(tokens, 70, 140));
    System.arraycopy(second, 0, stepped, 70 * Golden.VOCAB, second.length);
    for (int i = 140; i < tokens.length; i++) {
      System.arraycopy(s.step(tokens[i]), 0, stepped, i * Golden.VOCAB, Golden.VOCAB);
    }
    assertEquals(tokens.length, s.position());
    double diff = Golden.maxAbsDiff(full, stepped);
    assertTrue(diff <= 1e-5, "diff " + diff);
  }

  @Test
  void topKWithKAtLeastRowLengthEqualsDenseBitwise() {
    LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-f32.gguf"));
    ForwardRequest req = ForwardRequest.of(List.of(Golden.tokens()));
    float[] dense = model.forward(req).sequences().get(0).logits();
    ForwardResult topK = model.forward(req.withMode(AttentionMode.topK(T)));
    assertArrayEquals(dense, topK.sequences().get(0).logits());
    assertEquals(0, topK.stats().thresholdedRows(0));
    float[] pruned = model.forward(req.withMode(AttentionMode.topK(4))).sequences().get(0).logits();
    assertTrue(Golden.maxAbsDiff(dense, pruned) > 1e-3, "top-4 must change the logits");
  }

  /** Top-k kept keys of one row, computed independently: the k largest, lowest index wins ties. */
  private static boolean[] topKKept(float[] a, int n, int k) {
    boolean[] kept = new boolean[n];
    if (n <= k) {
      java.util.Arrays.fill(kept, true);
      return kept;
    }
    for (int c = 0; c < k; c++) {
      int best = -1;
      for (int j = 0; j < n; j++) {
        if (!kept[j] && (best < 0 || a[j] > a[best])) {
          best = j;
        }
      }
      kept[best] = true;
    }
    return kept;
  }

  @Test
  void vRowsPerKvGroupAreTheUnionOfTheGroupsKeptKeys() {
    LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-f32.gguf"));
    int k = 3;
    int groups = 2;
    int groupSize = H / groups;
    int[] tokens = Golden.tokens();
    // union[layer][group][row] as bit sets over keys
    java.util.BitSet[][][] union = new java.util.BitSet[L][groups][T];
    for (int l = 0; l < L; l++) {
      for (int g = 0; g < groups; g++) {
        for (int i = 0; i < T; i++) {
          union[l][g][i] = new java.util.BitSet();
        }
      }
    }
    AttentionObserver direct = row -> {
      float[] a = new float[row.n()];
      for (int j = 0; j < row.n(); j++) {
        a[j] = row.score(j);
      }
      boolean[] kept = topKKept(a, row.n(), k);
      for (int j = 0; j < row.n(); j++) {
        if (kept[j]) {
          union[row.layer()][row.head() / groupSize][row.row()].set(j);
        }
      }
    };
    ForwardRequest req = ForwardRequest.of(List.of(tokens)).withMode(AttentionMode.topK(k));
    AttentionStats observed = model.forward(req.withObserver(direct)).stats();
    AttentionStats parallel = model.forward(req).stats();
    for (int l = 0; l < L; l++) {
      long needed = 0;
      long visible = 0;
      for (int g = 0; g < groups; g++) {
        for (int i = 0; i < T; i++) {
          needed += union[l][g][i].cardinality();
          visible += i + 1;
        }
      }
      assertEquals(needed, observed.vRowsNeeded(l), "layer " + l);
      assertEquals(visible, observed.vRowsVisible(l), "layer " + l);
      assertEquals(needed, parallel.vRowsNeeded(l), "layer " + l + " (multi-threaded)");
      assertEquals(observed.keptElements(l), parallel.keptElements(l));
      assertTrue(needed > (long) k * T * groups / 2, "union should exceed a single head's k");
    }
  }

  @Test
  void decodingStepsRecordVRowsOverTheWholeCache() {
    LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-f32.gguf"));
    AttentionStats stats = new AttentionStats(L);
    DecoderSession s = model.newSession(AttentionMode.topK(2), AttentionObserver.NONE, stats, 0);
    s.prefill(new int[] {1, 283, 188, 206});
    AttentionStats afterPrefill = new AttentionStats(L);
    afterPrefill.merge(stats);
    s.step(269);
    s.step(174);
    for (int l = 0; l < L; l++) {
      assertEquals(2L * (1 + 2 + 3 + 4), afterPrefill.vRowsVisible(l));
      assertEquals(2L * (1 + 2 + 3 + 4 + 5 + 6), stats.vRowsVisible(l));
      long stepNeeded = stats.vRowsNeeded(l) - afterPrefill.vRowsNeeded(l);
      // each of the two steps: per group between k (heads agree) and min(n, 4 heads * k)
      assertTrue(stepNeeded >= 2 * 2 * 2 && stepNeeded <= 2 * (5 + 6), "layer " + l + ": " + stepNeeded);
      assertEquals(8L * (4 + 2), stats.rows(l));
    }
  }

  @Test
  void nextTokenStatsUseLogSumExp() {
    LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-f32.gguf"));
    int[] tokens = Golden.tokens();
    float[] logits = LlamaGoldenLogitsTest.logits(model);
    NextTokenStats st = NextTokenStats.of(logits, Golden.VOCAB, tokens);
    assertEquals(T - 1, st.nll().length);
    assertEquals(T, st.argmax().length);
    float[] ref = Golden.floats("logits-f32.f32");
    for (int i = 0; i < T - 1; i++) {
      double z = 0;
      for (int j = 0; j < Golden.VOCAB; j++) {
        z += Math.exp(ref[i * Golden.VOCAB + j]);
      }
      double expected = Math.log(z) - ref[i * Golden.VOCAB + tokens[i + 1]];
      assertEquals(expected, st.nll()[i], 1e-4);
      assertEquals(NextTokenStats.argmax(ref, i * Golden.VOCAB, Golden.VOCAB), st.argmax()[i]);
    }
    assertTrue(st.meanNll() > 0);
  }
}
