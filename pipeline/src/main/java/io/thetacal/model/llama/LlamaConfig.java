package io.thetacal.model.llama;

import java.util.Objects;

/**
 * Hyperparameters of a LLaMA-family decoder (LLaMA, Mistral, Qwen2-style biases).
 *
 * @param vocabSize tokens in the vocabulary
 * @param hiddenSize model width
 * @param intermediateSize SwiGLU inner width
 * @param numLayers transformer blocks
 * @param numHeads query heads
 * @param numKvHeads key/value heads (grouped-query attention when fewer than numHeads)
 * @param headDim dimension of one head
 * @param ropeDim leading dimensions of each head that RoPE rotates (usually headDim)
 * @param ropeTheta RoPE frequency base
 * @param rmsNormEps epsilon inside RMSNorm
 * @param maxPositions context length
 * @param ropeLayout pair layout of the checkpoint's Q/K rows
 * @param tiedOutput whether the output projection reuses the token embedding
 * @param qkvBias whether Q/K/V projections carry biases (Qwen2)
 * @param slidingWindow keys a query sees at most, itself included (Mistral sliding-window attention); 0
 *     for full causal attention
 * @param ropeScaling how RoPE frequencies are scaled ({@link RopeScaling#NONE} for none)
 */
public record LlamaConfig(
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    int ropeDim,
    double ropeTheta,
    double rmsNormEps,
    int maxPositions,
    RopeLayout ropeLayout,
    boolean tiedOutput,
    boolean qkvBias,
    int slidingWindow,
    RopeScaling ropeScaling) {

  public LlamaConfig {
    Objects.requireNonNull(ropeLayout, "ropeLayout");
    Objects.requireNonNull(ropeScaling, "ropeScaling");
    if (slidingWindow < 0) {
      throw new IllegalArgumentException("'slidingWindow' is set to " + slidingWindow
          + " but must be > 0 (or 0 for none)");
    }
    if (ropeScaling.freqFactors() != null && ropeScaling.freqFactors().length != ropeDim / 2) {
      throw new IllegalArgumentException("RoPE frequency factors number " + ropeScaling.freqFactors().length
          + " but must be one per rotated pair (" + ropeDim / 2 + ")");
    }
    positive("vocabSize", vocabSize);
    positive("hiddenSize", hiddenSize);
    positive("intermediateSize", intermediateSize);
    positive("numLayers", numLayers);
    positive("numHeads", numHeads);
    positive("numKvHeads", numKvHeads);
    positive("headDim", headDim);
    positive("maxPositions", maxPositions);
    if (numHeads % numKvHeads != 0) {
      throw new IllegalArgumentException("'numKvHeads' is set to " + numKvHeads
          + " but must divide numHeads (" + numHeads + ")");
    }
    if (ropeDim < 0 || ropeDim > headDim || ropeDim % 2 != 0) {
      throw new IllegalArgumentException("'ropeDim' is set to " + ropeDim
          + " but must be even and in [0, headDim = " + headDim + "]");
    }
    if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
      throw new IllegalArgumentException("'ropeTheta' is set to " + ropeTheta + " but must be > 0");
    }
    if (!(rmsNormEps >= 0) || Double.isInfinite(rmsNormEps)) {
      throw new IllegalArgumentException("'rmsNormEps' is set to " + rmsNormEps + " but must be >= 0");
    }
    // Weight matrices are decoded in tiles of rows and never held whole, so only one row of activations
    // (the fused Q/K/V width, twice the FFN width) must fit an int index.
    long fused = (long) numHeads * headDim + 2L * numKvHeads * headDim;
    if (fused > Integer.MAX_VALUE / 2 || 2L * intermediateSize > Integer.MAX_VALUE / 2) {
      throw new IllegalArgumentException("model with " + numHeads + " heads of " + headDim
          + " dimensions and FFN width " + intermediateSize + " has rows wider than one Java array can index");
    }
  }

  /** Full causal attention and unscaled RoPE. */
  public LlamaConfig(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
      int numKvHeads, int headDim, int ropeDim, double ropeTheta, double rmsNormEps, int maxPositions,
      RopeLayout ropeLayout, boolean tiedOutput, boolean qkvBias) {
    this(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, ropeDim, ropeTheta,
        rmsNormEps, maxPositions, ropeLayout, tiedOutput, qkvBias, 0, RopeScaling.NONE);
  }

  /** The same model with another sliding window (0 for none). */
  public LlamaConfig withSlidingWindow(int window) {
    return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim,
        ropeDim, ropeTheta, rmsNormEps, maxPositions, ropeLayout, tiedOutput, qkvBias, window, ropeScaling);
  }

  /** Keys visible to the query at absolute position p: [p + 1 - visibleKeys, p]. */
  public int visibleKeys(int p) {
    return slidingWindow > 0 ? Math.min(p + 1, slidingWindow) : p + 1;
  }

  private static void positive(String key, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException("'" + key + "' is set to " + v + " but must be > 0");
    }
  }

  public int qDim() {
    return numHeads * headDim;
  }

  public int kvDim() {
    return numKvHeads * headDim;
  }

  public int groupSize() {
    return numHeads / numKvHeads;
  }

  /** Parameters of the transformer blocks and embeddings (the output matrix counted once if tied). */
  public long parameterCount() {
    long d = hiddenSize;
    long perLayer = 2 * d + d * (qDim() + 2L * kvDim()) + (long) qDim() * d + 3L * d * intermediateSize
        + (qkvBias ? qDim() + 2L * kvDim() : 0);
    return numLayers * perLayer + d + (long) vocabSize * d * (tiedOutput ? 1 : 2);
  }
}
