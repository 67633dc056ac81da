package io.thetacal.model.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.thetacal.model.Erf;
import io.thetacal.model.PackedGemm;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The exact GELU applied in the FFN projection's own pass gives the bits of the encoder's scalar GELU. */
class FusedGeluTest {

  @Test
  void geluInTheProductsPassEqualsTheScalarGeluBitForBit() {
    assumeTrue(PackedGemm.available(), "needs 512-bit Vector API lanes");
    SplittableRandom r = new SplittableRandom(3);
    for (int k : new int[] {384, 1000}) {
      int m = 21;
      int n = 96;
      float[] a = new float[m * k];
      float[] w = new float[k * n];
      float[] bias = new float[n];
      for (float[] v : new float[][] {a, w, bias}) {
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (r.nextGaussian() * 0.3);
        }
      }
      PackedGemm p = PackedGemm.packOrNull(w, k, n);
      float[] plain = new float[m * n];
      p.mulBias(m, a, 0, k, bias, null, 0, 0, false, plain, 0, n);
      float[] fused = new float[m * n];
      p.mulBias(m, a, 0, k, bias, null, 0, 0, true, fused, 0, n);
      for (int i = 0; i < plain.length; i++) {
        float v = plain[i];
        float expected = Erf.gelu(v);
        assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(fused[i]),
            "k " + k + ", element " + i + " (input " + v + ")");
      }
    }
  }
}
