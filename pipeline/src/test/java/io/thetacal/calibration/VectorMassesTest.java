package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class VectorMassesTest {
  @Test
  void vectorMassesRoundExactlyAsWithStrictMath() {
    assumeTrue(CalibrationState.VECTOR, "the jdk.incubator.vector module is not present");
    SplittableRandom rnd = new SplittableRandom(23);
    int n = 1000;
    float[] s = new float[n];
    double[] x = new double[n];
    long[] out = new long[n];
    for (int round = 0; round < 4000; round++) {
      float max = (float) (rnd.nextGaussian() * 8);
      for (int p = 0; p < n; p++) {
        int kind = rnd.nextInt(4);
        s[p] = kind == 0 ? max - (float) (rnd.nextDouble() * 1e-3)
            : kind == 1 ? max - (float) rnd.nextDouble(29, 31)
            : kind == 2 ? max : max - (float) rnd.nextDouble(0, 40);
      }
      int from = rnd.nextInt(5);
      int to = n - rnd.nextInt(5);
      VectorMasses.masses(s, from, to, max, x, out);
      for (int p = from; p < to; p++) {
        assertEquals(Math.round(StrictMath.exp((double) s[p] - max) * 0x1p40), out[p],
            "mass of " + s[p] + " with max " + max);
      }
    }
  }
}
