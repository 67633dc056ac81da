package io.thetacal.attention;

import static io.thetacal.attention.RowMath.EXP_LO;
import static io.thetacal.attention.RowMath.LN2_HI;
import static io.thetacal.attention.RowMath.LN2_LO;
import static io.thetacal.attention.RowMath.LOG2E;
import static io.thetacal.attention.RowMath.P0;
import static io.thetacal.attention.RowMath.P1;
import static io.thetacal.attention.RowMath.P2;
import static io.thetacal.attention.RowMath.P3;
import static io.thetacal.attention.RowMath.P4;
import static io.thetacal.attention.RowMath.P5;
import static io.thetacal.attention.RowMath.ROUND;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link RowMath} on the Vector API; only loaded when the incubator module is present. Every lane computes
 * exactly what {@link RowMath#exp} computes, and sums are taken lane by lane in a fixed order.
 */
final class VectorRowMath {
  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
  private static final VarHandle FLOATS =
      MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.nativeOrder());
  private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);

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

  /**
   * {@link RowMath#expShifted}; {@code scratch} holds at least two vectors' bytes. No vector lives across
   * an iteration or a call: the lane sums are kept in {@code scratch}, and the exponential is written out
   * in the loop. A vector carried around the loop in a variable was, in some JVMs and not in others,
   * left boxed by C2 (an allocation per operation, about 170 MB per encoder pass).
   */
  static double expShifted(float[] a, int off, int n, float m, float[] out, byte[] scratch) {
    int j = 0;
    int sums = S.vectorByteSize();
    Arrays.fill(scratch, sums, 2 * sums, (byte) 0);
    for (int bound = S.loopBound(n); j < bound; j += S.length()) {
      FloatVector x = FloatVector.fromArray(S, a, off + j).sub(m).max(EXP_LO);
      FloatVector t = x.mul(LOG2E).add(ROUND);
      FloatVector k = t.sub(ROUND);
      FloatVector r = x.sub(k.mul(LN2_HI));
      r = r.sub(k.mul(LN2_LO));
      FloatVector z = r.mul(r);
      FloatVector y = r.mul(P0).add(P1);
      y = y.mul(r).add(P2);
      y = y.mul(r).add(P3);
      y = y.mul(r).add(P4);
      y = y.mul(r).add(P5);
      y = y.mul(z).add(r).add(1f);
      // The low mantissa bits of t hold the integer k (see RowMath.exp). The bits go through memory: a
      // reinterpret compiled inside a large caller (the attention kernel) was left to the library's slow
      // path by C2, which allocates per call.
      t.intoByteArray(scratch, 0, ByteOrder.nativeOrder());
      IntVector.fromByteArray(I, scratch, 0, ByteOrder.nativeOrder()).sub(ROUND_BITS - 127)
          .lanewise(VectorOperators.LSHL, 23).intoByteArray(scratch, 0, ByteOrder.nativeOrder());
      FloatVector e = y.mul(FloatVector.fromByteArray(S, scratch, 0, ByteOrder.nativeOrder()));
      e.intoArray(out, j);
      FloatVector.fromByteArray(S, scratch, sums, ByteOrder.nativeOrder()).add(e)
          .intoByteArray(scratch, sums, ByteOrder.nativeOrder());
    }
    double sum = 0;
    for (int l = 0; l < S.length(); l++) {
      sum += (float) FLOATS.get(scratch, sums + l * Float.BYTES);
    }
    for (; j < n; j++) {
      float e = RowMath.exp(a[off + j] - m);
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
