package io.thetacal.model.bert;

import java.util.List;

/**
 * The weights and hyper-parameters of a BERT-family encoder, as read from an ONNX graph. Matrices are
 * row-major in [in, out] layout, so y = x · W + b.
 *
 * @param wordEmbeddings [vocab, hidden]
 * @param positionEmbeddings [maxPositions, hidden]
 * @param tokenTypeEmbedding the row of token type 0, [hidden]
 * @param attentionScale the factor applied to q·k (1 / the Div constant of the attention block)
 * @param geluErf whether the FFN activation is the exact (erf) GELU; otherwise the tanh approximation
 */
public record BertWeights(int vocabSize, int maxPositions, int hiddenSize, int intermediateSize,
    int numHeads, int headDim, float attentionScale, boolean geluErf, float[] wordEmbeddings,
    float[] positionEmbeddings, float[] tokenTypeEmbedding, Norm embeddingNorm, List<Layer> layers) {

  public BertWeights {
    layers = List.copyOf(layers);
  }

  /** LayerNorm: gamma, beta and epsilon. */
  public record Norm(float[] gamma, float[] beta, float eps) {
  }

  /**
   * One transformer block.
   *
   * @param qkv fused [hidden, 3·hidden] projection: columns [query | key | value]
   * @param qkvBias [3·hidden]
   */
  public record Layer(float[] qkv, float[] qkvBias, float[] attnOut, float[] attnOutBias, Norm attnNorm,
      float[] ffnIn, float[] ffnInBias, float[] ffnOut, float[] ffnOutBias, Norm ffnNorm) {
  }
}
