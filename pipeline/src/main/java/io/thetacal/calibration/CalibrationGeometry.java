package io.thetacal.calibration;

import io.thetacal.model.ModelInfo;
import java.io.Serializable;

/**
 * The part of a model's shape that sizes the calibration state: layers, query heads and the longest row
 * length. Thresholds are per query head, so key/value heads do not matter here.
 *
 * @param numLayers transformer blocks, > 0
 * @param numHeads query heads per layer, > 0
 * @param maxPositions the longest row length n, in 1..{@value #MAX_POSITIONS_LIMIT}
 */
public record CalibrationGeometry(int numLayers, int numHeads, int maxPositions)
    implements Serializable {

  /** Row lengths above this would overflow the fixed-point softmax denominator (n · 2^40 < 2^63). */
  public static final int MAX_POSITIONS_LIMIT = 1 << 22;

  public CalibrationGeometry {
    if (numLayers <= 0) {
      throw new IllegalArgumentException("'numLayers' is set to " + numLayers + " but must be > 0");
    }
    if (numHeads <= 0) {
      throw new IllegalArgumentException("'numHeads' is set to " + numHeads + " but must be > 0");
    }
    if (maxPositions <= 0 || maxPositions > MAX_POSITIONS_LIMIT) {
      throw new IllegalArgumentException("'maxPositions' is set to " + maxPositions
          + " but must be in 1.." + MAX_POSITIONS_LIMIT);
    }
  }

  public static CalibrationGeometry of(ModelInfo model) {
    return new CalibrationGeometry(model.numLayers(), model.numHeads(), model.maxPositions());
  }
}
