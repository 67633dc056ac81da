package io.thetacal.model;

import java.util.Objects;

/**
 * The geometry and identity of a loaded model: what calibration state is sized by and what every artifact
 * records as provenance.
 *
 * @param id short id or path the model was loaded from
 * @param contentHash SHA-256 (hex) of the weight file(s), so artifacts can be tied to exact weights
 * @param format the checkpoint format, e.g. "onnx", "gguf", "safetensors"
 * @param family encoder or decoder
 * @param numLayers transformer blocks
 * @param numHeads query heads per layer
 * @param numKvHeads key/value heads per layer (equal to numHeads without grouped-query attention)
 * @param headDim dimension of one head
 * @param hiddenSize model width
 * @param vocabSize vocabulary size
 * @param maxPositions longest sequence the model accepts
 */
public record ModelInfo(
    String id,
    String contentHash,
    String format,
    ModelFamily family,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    int hiddenSize,
    int vocabSize,
    int maxPositions) {

  public ModelInfo {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(contentHash, "contentHash");
    Objects.requireNonNull(format, "format");
    Objects.requireNonNull(family, "family");
    if (numLayers <= 0 || numHeads <= 0 || numKvHeads <= 0 || headDim <= 0 || hiddenSize <= 0
        || vocabSize <= 0 || maxPositions <= 0) {
      throw new IllegalArgumentException("model geometry must be positive: " + this);
    }
    if (numHeads % numKvHeads != 0) {
      throw new IllegalArgumentException(
          "numHeads (" + numHeads + ") must be a multiple of numKvHeads (" + numKvHeads + ")");
    }
  }

  /** Query heads that share one key/value head. */
  public int groupSize() {
    return numHeads / numKvHeads;
  }

  /** The key/value head (group) a query head reads from, as in HF {@code repeat_kv}. */
  public int kvHeadOf(int queryHead) {
    return queryHead / groupSize();
  }
}
