package io.thetacal.model.bert;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * LayerNorm of one row in place, on the Vector API when present (mean and variance accumulated in float
 * lanes, summed in a fixed order so the bits do not depend on JIT tier).
 */
final class LayerNormRow {
  private static final boolean VECTOR =
      ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

  private LayerNormRow() {
  }

  static void apply(float[] x, int o, int h, float[] gamma, float[] beta, float eps) {
    if (VECTOR) {
      Vec.apply(x, o, h, gamma, beta, eps);
      return;
    }
    double mean = 0;
    for (int j = 0; j < h; j++) {
      mean += x[o + j];
    }
    mean /= h;
    double var = 0;
    for (int j = 0; j < h; j++) {
      double d = x[o + j] - mean;
      var += d * d;
    }
    var /= h;
    float inv = (float) (1.0 / Math.sqrt(var + eps));
    float fm = (float) mean;
    for (int j = 0; j < h; j++) {
      x[o + j] = (x[o + j] - fm) * inv * gamma[j] + beta[j];
    }
  }

  /** Loaded only when the incubator module is present. */
  private static final class Vec {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** Lane sum in a fixed order, so results do not depend on how the JIT reduces. */
    private static double sumLanes(FloatVector v) {
      float[] lanes = new float[S.length()];
      v.intoArray(lanes, 0);
      double s = 0;
      for (float l : lanes) {
        s += l;
      }
      return s;
    }

    static void apply(float[] x, int o, int h, float[] gamma, float[] beta, float eps) {
      int bound = S.loopBound(h);
      FloatVector acc = FloatVector.zero(S);
      int j = 0;
      for (; j < bound; j += S.length()) {
        acc = acc.add(FloatVector.fromArray(S, x, o + j));
      }
      double sum = sumLanes(acc);
      for (; j < h; j++) {
        sum += x[o + j];
      }
      float mean = (float) (sum / h);
      FloatVector sq = FloatVector.zero(S);
      j = 0;
      for (; j < bound; j += S.length()) {
        FloatVector d = FloatVector.fromArray(S, x, o + j).sub(mean);
        sq = sq.add(d.mul(d));
      }
      double var = sumLanes(sq);
      for (; j < h; j++) {
        float d = x[o + j] - mean;
        var += d * d;
      }
      float inv = (float) (1.0 / Math.sqrt(var / h + eps));
      j = 0;
      for (; j < bound; j += S.length()) {
        FloatVector v = FloatVector.fromArray(S, x, o + j).sub(mean).mul(inv);
        v.mul(FloatVector.fromArray(S, gamma, j)).add(FloatVector.fromArray(S, beta, j)).intoArray(x, o + j);
      }
      for (; j < h; j++) {
        x[o + j] = (x[o + j] - mean) * inv * gamma[j] + beta[j];
      }
    }
  }
}
