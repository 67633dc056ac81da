package io.thetacal.attention;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** {@link RowMath} on the Vector API; only loaded when the incubator module is present. */
final class VectorRowMath {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

  private VectorRowMath() {
  }

  static float maxIfFinite(float[] a, int off, int n) {
    int j = 0;
    FloatVector max = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
    // x - x is 0 for finite x and NaN for NaN or ±inf.
    FloatVector bad = FloatVector.zero(S);
    for (int bound = S.loopBound(n); j < bound; j += S.length()) {
      FloatVector v = FloatVector.fromArray(S, a, off + j);
      max = max.max(v);
      bad = bad.add(v.sub(v));
    }
    float m = max.reduceLanes(VectorOperators.MAX);
    float b = bad.reduceLanes(VectorOperators.ADD);
    for (; j < n; j++) {
      float v = a[off + j];
      m = Math.max(m, v);
      b += v - v;
    }
    return b == 0f && Float.isFinite(m) ? m : Float.NaN;
  }

  static double expShifted(float[] a, int off, int n, float m, float[] out) {
    int j = 0;
    FloatVector acc = FloatVector.zero(S);
    for (int bound = S.loopBound(n); j < bound; j += S.length()) {
      FloatVector e = FloatVector.fromArray(S, a, off + j).sub(m).lanewise(VectorOperators.EXP);
      e.intoArray(out, j);
      acc = acc.add(e);
    }
    double sum = acc.reduceLanes(VectorOperators.ADD);
    for (; j < n; j++) {
      float e = (float) Math.exp(a[off + j] - m);
      out[j] = e;
      sum += e;
    }
    return sum;
  }

  static void scale(float[] src, float s, float[] dst, int off, int n) {
    int j = 0;
    for (int bound = S.loopBound(n); j < bound; j += S.length()) {
      FloatVector.fromArray(S, src, j).mul(s).intoArray(dst, off + j);
    }
    for (; j < n; j++) {
      dst[off + j] = src[j] * s;
    }
  }
}
