package io.thetacal.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionRow;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.Models;
import io.thetacal.model.Sentences;
import io.thetacal.model.TransformerModel;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The Java encoder against ONNX Runtime on the same ONNX file: attention probabilities and pooled output. */
class BertEncoderOrtTest {

  @ParameterizedTest
  @ValueSource(strings = {"all-minilm-l6-v2", "bge-small-en-v1.5", "e5-small-v2"})
  void attentionProbabilitiesAndPooledOutputMatchOnnxRuntime(String id) throws Exception {
    try (TransformerModel model = Models.load(id)) {
      List<int[]> seqs = Sentences.REAL.stream().map(model.tokenizer()::encode).toList();
      assertTrue(seqs.stream().mapToInt(s -> s.length).distinct().count() >= 10,
          "sentences must have varied lengths");
      int layers = model.info().numLayers();
      int heads = model.info().numHeads();
      assertEquals(1 / Math.sqrt(model.info().headDim()), ((BertEncoder) model).weights().attentionScale(),
          1e-6, "captured scores are q·k / sqrt(d_head)");

      OrtOracle.Output ort;
      try (OrtOracle oracle = new OrtOracle(OrtOracle.resource(id + ".onnx"), layers, true, 2)) {
        ort = oracle.run(seqs);
      }

      double[] maxDiff = new double[layers];
      double[] maxScoreCheck = {0};
      Set<String> seen = new HashSet<>();
      ForwardResult result = model.forward(ForwardRequest.of(seqs).withObserver((AttentionRow row) -> {
        int s = row.sequence();
        int n = seqs.get(s).length;
        assertEquals(n, row.n(), "row length must exclude padding");
        assertTrue(seen.add(row.layer() + "/" + row.head() + "/" + s + "/" + row.row()), "row seen twice");
        float[] p = ort.probs()[row.layer()][s][row.head()][row.row()];
        double d = 0;
        for (int j = 0; j < n; j++) {
          d = Math.max(d, Math.abs(row.probabilityOf(row.score(j)) - p[j]));
        }
        maxDiff[row.layer()] = Math.max(maxDiff[row.layer()], d);
      }));
      int expectedRows = seqs.stream().mapToInt(s -> s.length).sum() * layers * heads;
      assertEquals(expectedRows, seen.size(), "every (layer, head, sequence, row) exactly once");
      for (int l = 0; l < layers; l++) {
        assertTrue(maxDiff[l] <= 1e-4, id + " layer " + l + ": max |p - p_ort| = " + maxDiff[l]);
      }

      double minCos = 1;
      for (int s = 0; s < seqs.size(); s++) {
        int n = seqs.get(s).length;
        float[] pooled = result.sequences().get(s).pooled();
        int h = pooled.length;
        double[] ref = new double[h];
        for (int t = 0; t < n; t++) {
          for (int j = 0; j < h; j++) {
            ref[j] += ort.hidden()[s][t][j] / n;
          }
        }
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int j = 0; j < h; j++) {
          dot += pooled[j] * ref[j];
          na += pooled[j] * (double) pooled[j];
          nb += ref[j] * ref[j];
        }
        minCos = Math.min(minCos, dot / Math.sqrt(na * nb));
      }
      assertTrue(minCos >= 0.99999, id + ": min pooled cosine " + minCos);
      System.out.printf("%s: max |p - p_ort| per layer %s, min pooled cosine %.8f%n", id,
          java.util.Arrays.toString(maxDiff), minCos);
    }
  }
}
