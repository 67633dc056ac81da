package io.thetacal.model.llama;

import io.thetacal.model.WeightMatrix;
import java.util.List;
import java.util.Objects;

/**
 * Weights of a LLaMA-family decoder, row-major [out × in] (the layout of both GGUF and PyTorch). Matrices
 * loaded from a checkpoint stay in their stored encoding in the mapped file and are decoded in tiles by
 * the matrix products; Q/K/V and gate/up are stacked so that each is one product. Norm weights and
 * biases are small and decoded to float.
 *
 * @param embedding token embedding [vocab × hidden]
 * @param layers transformer blocks
 * @param outputNorm final RMSNorm weight
 * @param output output projection [vocab × hidden]; the same object as embedding when tied
 */
public record LlamaWeights(WeightMatrix embedding, List<Layer> layers, float[] outputNorm, WeightMatrix output) {
  public LlamaWeights {
    Objects.requireNonNull(embedding, "embedding");
    layers = List.copyOf(layers);
    Objects.requireNonNull(outputNorm, "outputNorm");
    Objects.requireNonNull(output, "output");
    if (output.equals(embedding)) {
      output = embedding;
    }
  }

  /** Heap weights: the embedding and output arrays hold vocab rows of outputNorm.length floats. */
  public LlamaWeights(float[] embedding, List<Layer> layers, float[] outputNorm, float[] output) {
    this(dense(embedding, outputNorm.length), layers, outputNorm, dense(output, outputNorm.length));
  }

  /**
   * One block.
   *
   * @param attnNorm RMSNorm weight before attention [hidden]
   * @param wqkv rows 0..qDim are Q, then K, then V [(qDim + 2 kvDim) × hidden]
   * @param bqkv biases in the same order, or null
   * @param wo output projection [hidden × qDim]
   * @param ffnNorm RMSNorm weight before the MLP [hidden]
   * @param wGateUp rows 0..ffn are gate, then up [2 ffn × hidden]
   * @param wDown down projection [hidden × ffn]
   */
  public record Layer(float[] attnNorm, WeightMatrix wqkv, float[] bqkv, WeightMatrix wo, float[] ffnNorm,
      WeightMatrix wGateUp, WeightMatrix wDown) {
    public Layer {
      Objects.requireNonNull(attnNorm, "attnNorm");
      Objects.requireNonNull(wqkv, "wqkv");
      Objects.requireNonNull(wo, "wo");
      Objects.requireNonNull(ffnNorm, "ffnNorm");
      Objects.requireNonNull(wGateUp, "wGateUp");
      Objects.requireNonNull(wDown, "wDown");
    }

    /** Heap weights; the matrix widths follow from attnNorm.length (hidden). */
    public Layer(float[] attnNorm, float[] wqkv, float[] bqkv, float[] wo, float[] ffnNorm, float[] wGateUp,
        float[] wDown) {
      this(attnNorm, dense(wqkv, attnNorm.length), bqkv, WeightMatrix.of(wo, attnNorm.length,
          wo.length / attnNorm.length), ffnNorm, dense(wGateUp, attnNorm.length),
          WeightMatrix.of(wDown, attnNorm.length, wDown.length / attnNorm.length));
    }
  }

  private static WeightMatrix dense(float[] data, int cols) {
    return WeightMatrix.of(data, data.length / cols, cols);
  }
}
