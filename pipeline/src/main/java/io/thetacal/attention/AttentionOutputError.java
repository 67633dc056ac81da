package io.thetacal.attention;

import java.util.Arrays;

/**
 * Per-layer relative error of a sparse pass's attention outputs against dense attention on the same layer
 * input. A row is one token's attention output: the concatenation of its heads' outputs, before the
 * output projection. For each row, ‖o_sparse − o_dense‖ / ‖o_dense‖; a layer's figure is the mean over
 * its rows. Because both outputs come from the same scores and V, the figure isolates that layer's
 * sparsification from the error earlier layers pass on. Mergeable across batches and threads; not
 * thread-safe.
 */
public final class AttentionOutputError {
  private final double[] errorSum;
  private final long[] rows;

  public AttentionOutputError(int numLayers) {
    if (numLayers <= 0) {
      throw new IllegalArgumentException("'numLayers' is set to " + numLayers + " but must be > 0");
    }
    errorSum = new double[numLayers];
    rows = new long[numLayers];
  }

  public int numLayers() {
    return rows.length;
  }

  /**
   * Records {@code count} rows of one layer: row r is {@code width} values from
   * {@code offset + r · stride} in both arrays. A row whose dense output is zero counts as error 0 when
   * the sparse output is zero too and is skipped otherwise (its relative error is undefined).
   */
  public void record(int layer, float[] sparse, float[] dense, int offset, int count, int stride,
      int width) {
    if (layer < 0 || layer >= rows.length) {
      throw new IllegalArgumentException(
          "'layer' is set to " + layer + " but must be in [0, " + rows.length + ")");
    }
    for (int r = 0; r < count; r++) {
      int o = offset + r * stride;
      double diff = 0;
      double ref = 0;
      for (int j = 0; j < width; j++) {
        double s = sparse[o + j];
        double d = dense[o + j];
        diff += (s - d) * (s - d);
        ref += d * d;
      }
      if (ref > 0) {
        errorSum[layer] += Math.sqrt(diff / ref);
        rows[layer]++;
      } else if (diff == 0) {
        rows[layer]++;
      }
    }
  }

  public void merge(AttentionOutputError other) {
    if (other.numLayers() != numLayers()) {
      throw new IllegalArgumentException("cannot merge attention output errors of " + other.numLayers()
          + " layers into one of " + numLayers() + " layers");
    }
    for (int l = 0; l < rows.length; l++) {
      errorSum[l] += other.errorSum[l];
      rows[l] += other.rows[l];
    }
  }

  /** Rows recorded for one layer. */
  public long rows(int layer) {
    return rows[layer];
  }

  /** Mean relative error over the rows of one layer; NaN when none was recorded. */
  public double mean(int layer) {
    return rows[layer] == 0 ? Double.NaN : errorSum[layer] / rows[layer];
  }

  /** {@link #mean(int)} of every layer, in layer order. */
  public double[] perLayerMean() {
    double[] out = new double[rows.length];
    Arrays.setAll(out, this::mean);
    return out;
  }

  /** Mean over the layers that recorded rows of their mean row error; NaN when none did. */
  public double meanOverLayers() {
    double sum = 0;
    int layers = 0;
    for (int l = 0; l < rows.length; l++) {
      if (rows[l] > 0) {
        sum += mean(l);
        layers++;
      }
    }
    return layers == 0 ? Double.NaN : sum / layers;
  }
}
