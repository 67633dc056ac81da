package io.thetacal.model.llama;

import java.util.List;
import java.util.Objects;

/**
 * Decoded weights of a LLaMA-family decoder, row-major [out × in] (the layout of both GGUF and
 * PyTorch), with Q/K/V fused into one matrix and gate/up fused into another so each is one GEMM.
 *
 * @param embedding token embedding [vocab × hidden]
 * @param layers transformer blocks
 * @param outputNorm final RMSNorm weight
 * @param output output projection [vocab × hidden]; the same array as embedding when tied
 */
public record LlamaWeights(float[] embedding, List<Layer> layers, float[] outputNorm, float[] output) {
  public LlamaWeights {
    Objects.requireNonNull(embedding, "embedding");
    layers = List.copyOf(layers);
    Objects.requireNonNull(outputNorm, "outputNorm");
    Objects.requireNonNull(output, "output");
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
  public record Layer(float[] attnNorm, float[] wqkv, float[] bqkv, float[] wo, float[] ffnNorm,
      float[] wGateUp, float[] wDown) {
  }

  /** Concatenates row blocks into one matrix. */
  static float[] concat(float[]... parts) {
    int len = 0;
    for (float[] p : parts) {
      len = Math.addExact(len, p.length);
    }
    float[] out = new float[len];
    int at = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}
