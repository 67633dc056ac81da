package io.thetacal.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionStats;
import io.thetacal.attention.Placement;
import io.thetacal.attention.RowHash;
import io.thetacal.attention.SdcMode;
import io.thetacal.attention.ThresholdLookup;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.WeightMatrix;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class LlamaSparseModesTest {
  private final LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-f32.gguf"));
  private final int[] tokens = Golden.tokens();

  private static ThresholdLookup constant(float theta, Placement placement) {
    return ThresholdLookup.constant(theta, placement);
  }

  /** The same model with all query weights zeroed: every score is 0, so dense attention averages V. */
  private LlamaModel withZeroQueries() {
    LlamaConfig c = model.config();
    List<LlamaWeights.Layer> layers = new ArrayList<>();
    for (LlamaWeights.Layer l : model.weights().layers()) {
      float[] wqkv = l.wqkv().toFloats();
      Arrays.fill(wqkv, 0, c.qDim() * c.hiddenSize(), 0f);
      layers.add(new LlamaWeights.Layer(l.attnNorm(), WeightMatrix.of(wqkv, l.wqkv().rows(), l.wqkv().cols()),
          null, l.wo(), l.ffnNorm(), l.wGateUp(), l.wDown()));
    }
    LlamaWeights w = model.weights();
    return new LlamaModel(model.info(), c, new LlamaWeights(w.embedding(), layers, w.outputNorm(), w.output()),
        null);
  }

  @Test
  void vMeanCompensationOfFullyPrunedRowsEqualsUniformAttention() {
    // θ = 2 on probabilities drops every key of every row with n > 1; VMC then puts all mass on the
    // prefix mean of V, which is exactly what uniform (all-zero-score) dense attention computes.
    AttentionMode dropAll = AttentionMode.topTheta(constant(2f, Placement.POST_SOFTMAX), 1).withVmc(true);
    ForwardRequest req = ForwardRequest.of(List.of(tokens));
    ForwardResult pruned = model.forward(req.withMode(dropAll));
    float[] uniform = withZeroQueries().forward(req).sequences().get(0).logits();
    double diff = Golden.maxAbsDiff(uniform, pruned.sequences().get(0).logits());
    assertTrue(diff < 1e-5, "diff " + diff);
    AttentionStats s = pruned.stats();
    for (int l = 0; l < 3; l++) {
      assertEquals(8L * (Golden.T - 1), s.thresholdedRows(l));
      assertEquals(0, s.thresholdedKept(l));
      assertEquals(2L, s.vRowsNeeded(l), "only row 0 (n = 1, dense) needs V, once per KV group");
    }
  }

  @Test
  void preSoftmaxTopThetaWithSdcAndVmcMatchesBetweenPrefillAndDecoding() {
    AttentionMode mode = AttentionMode.topTheta(constant(0.5f, Placement.PRE_SOFTMAX), 4)
        .withSdc(SdcMode.EXACT).withVmc(true);
    AttentionStats prefillStats = new AttentionStats(3);
    float[] full = model.newSession(mode, AttentionObserver.NONE, prefillStats, 0).prefill(tokens);
    AttentionStats stepStats = new AttentionStats(3);
    DecoderSession s = model.newSession(mode, AttentionObserver.NONE, stepStats, 0);
    float[] stepped = new float[full.length];
    System.arraycopy(s.prefill(Arrays.copyOf(tokens, 5)), 0, stepped, 0, 5 * Golden.VOCAB);
    for (int i = 5; i < tokens.length; i++) {
      System.arraycopy(s.step(tokens[i]), 0, stepped, i * Golden.VOCAB, Golden.VOCAB);
    }
    assertTrue(Golden.maxAbsDiff(full, stepped) < 1e-5);
    for (int l = 0; l < 3; l++) {
      assertEquals(prefillStats.keptElements(l), stepStats.keptElements(l));
      assertEquals(prefillStats.vRowsNeeded(l), stepStats.vRowsNeeded(l));
      assertTrue(prefillStats.thresholdedKept(l) < prefillStats.thresholdedElements(l));
    }
    float[] dense = LlamaGoldenLogitsTest.logits(model);
    assertTrue(Golden.maxAbsDiff(dense, full) > 1e-4, "pruning must change the logits");
  }

  @Test
  void attentionOutputErrorIsExactlyZeroForDenseAndForTopKWithKAtLeastTheSequenceLength() {
    for (AttentionMode mode : List.of(AttentionMode.dense(), AttentionMode.topK(tokens.length))) {
      ForwardResult r = model.forward(ForwardRequest.of(List.of(tokens)).withMode(mode)
          .withAttentionError(true));
      for (int l = 0; l < 3; l++) {
        assertEquals(tokens.length, r.attentionError().rows(l), "one row per position, layer " + l);
        assertEquals(0.0, r.attentionError().mean(l), mode + ", layer " + l);
      }
    }
  }

  @Test
  void attentionOutputErrorOfTopKIsPositiveAndLeavesTheLogitsUnchanged() {
    ForwardRequest req = ForwardRequest.of(List.of(tokens)).withMode(AttentionMode.topK(2));
    float[] plain = model.forward(req).sequences().get(0).logits();
    ForwardResult measured = model.forward(req.withAttentionError(true));
    assertEquals(0.0, Golden.maxAbsDiff(plain, measured.sequences().get(0).logits()));
    for (int l = 0; l < 3; l++) {
      double e = measured.attentionError().mean(l);
      assertTrue(e > 1e-4 && e < 2, "layer " + l + ": " + e);
    }
  }

  @Test
  void aPassWithoutOutputsShowsTheSameRowsAndCountsAsAFullPass() {
    for (AttentionMode mode : List.of(AttentionMode.dense(), AttentionMode.topK(4),
        AttentionMode.topTheta(constant(0.05f, Placement.POST_SOFTMAX), 1).withVmc(true))) {
      RowHash fullRows = new RowHash();
      RowHash onlyRows = new RowHash();
      ForwardResult full = model.forward(ForwardRequest.of(List.of(tokens)).withMode(mode)
          .withObserver(fullRows));
      ForwardResult only = model.forward(ForwardRequest.attentionOnly(List.of(tokens), mode, onlyRows));
      assertEquals((long) Golden.T * model.config().numLayers() * model.config().numHeads(), fullRows.rows(),
          mode.toString());
      assertEquals(fullRows.rows(), onlyRows.rows(), mode.toString());
      assertEquals(fullRows.hash(), onlyRows.hash(), mode.toString());
      for (int l = 0; l < model.config().numLayers(); l++) {
        assertEquals(full.stats().keptElements(l), only.stats().keptElements(l), mode + ", layer " + l);
        assertEquals(full.stats().thresholdedKept(l), only.stats().thresholdedKept(l), mode + ", layer " + l);
        assertEquals(full.stats().vRowsNeeded(l), only.stats().vRowsNeeded(l), mode + ", layer " + l);
      }
      assertEquals(Golden.T, only.sequences().get(0).length());
      assertNull(only.sequences().get(0).logits());
      assertNull(only.sequences().get(0).hidden());
    }
  }
}
