package io.thetacal.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ErfTest {

  /** erf by its Maclaurin series in double precision: accurate to about 1e-10 for |x| <= 4. */
  private static double seriesErf(double x) {
    double term = x;
    double sum = x;
    for (int n = 1; n < 200; n++) {
      term *= -x * x / n;
      sum += term / (2 * n + 1);
    }
    return 2 / Math.sqrt(Math.PI) * sum;
  }

  @Test
  void erfIsWithinFiveTenMillionthsOfTheSeriesOnMinusFourToFour() {
    double worst = 0;
    for (int i = -40000; i <= 40000; i++) {
      float x = i / 10000f;
      worst = Math.max(worst, Math.abs(Erf.erf(x) - seriesErf(x)));
    }
    assertTrue(worst < 5e-7, "max |erf - series| = " + worst);
  }

  @Test
  void erfIsOddAndSaturatesOutsideTheClamp() {
    for (float x = 0; x < 10; x += 0.37f) {
      assertEquals(Float.floatToIntBits(-Erf.erf(x)), Float.floatToIntBits(Erf.erf(-x)), "x = " + x);
    }
    assertEquals(Erf.erf(Erf.CLAMP), Erf.erf(100f));
    assertEquals(1.0, Erf.erf(100f), 5e-7);
  }

  @Test
  void geluIsHalfTheInputTimesOnePlusErfOfTheScaledInput() {
    assertEquals(0f, Erf.gelu(0f));
    for (float v = -6; v < 6; v += 0.25f) {
      double expected = 0.5 * v * (1 + seriesErf(Math.max(-4, Math.min(4, v / Math.sqrt(2)))));
      assertEquals(expected, Erf.gelu(v), 5e-6 * Math.max(1, Math.abs(v)), "v = " + v);
    }
  }
}
