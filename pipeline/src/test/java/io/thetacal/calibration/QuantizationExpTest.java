package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class QuantizationExpTest {
  @Test
  void massesAndProbabilitiesRoundExactlyAsWithStrictMath() {
    SplittableRandom rnd = new SplittableRandom(11);
    for (int i = 0; i < 2_000_000; i++) {
      float max = (float) (rnd.nextGaussian() * 8);
      float a = i % 3 == 0 ? max - (float) rnd.nextDouble(0, 40) : max - (float) (rnd.nextDouble() * 1e-3);
      double d = 1 + rnd.nextDouble() * (i % 2 == 0 ? 4 : 4000);
      assertEquals(Math.round(StrictMath.exp((double) a - max) * 0x1p40), Quantization.mass(a, max),
          "mass of " + a + " with max " + max);
      assertEquals(Math.round(StrictMath.exp((double) a - max) / d * 0x1p48), Quantization.probability(a, max, d),
          "probability of " + a + " with max " + max + ", denominator " + d);
    }
  }
}
