package io.thetacal.model;

/**
 * The error function in single precision, and the exact GELU built on it: an odd rational polynomial on
 * [-4, 4] (the form Eigen and XLA use; |error| < 5e-7), branch-free so loops over it vectorize. The
 * constants are public so that a vector kernel can evaluate the same operations in lanes and give the
 * scalar's bits.
 */
public final class Erf {
  /** Inputs are clamped to [-CLAMP, CLAMP], where the rational form reaches ±1 within its error. */
  public static final float CLAMP = 4f;
  /** 1/√2 in single precision: GELU's scale of its input to erf. */
  public static final float RSQRT2 = 0.70710678f;
  /** Numerator p(x²) = (((((P0·x² + P1)·x² + P2)·x² + P3)·x² + P4)·x² + P5)·x² + P6. */
  public static final float P0 = -2.72614225801306e-10f;
  public static final float P1 = 2.77068142495902e-08f;
  public static final float P2 = -2.10102402082508e-06f;
  public static final float P3 = -5.69250639462346e-05f;
  public static final float P4 = -7.34990630326855e-04f;
  public static final float P5 = -2.95459980854025e-03f;
  public static final float P6 = -1.60960333262415e-02f;
  /** Denominator q(x²) = (((Q0·x² + Q1)·x² + Q2)·x² + Q3)·x² + Q4; erf(x) = x·p / q. */
  public static final float Q0 = -1.45660718464996e-05f;
  public static final float Q1 = -2.13374055278905e-04f;
  public static final float Q2 = -1.68282697438203e-03f;
  public static final float Q3 = -7.37332916720468e-03f;
  public static final float Q4 = -1.42647390514189e-02f;

  private Erf() {
  }

  public static float erf(float v) {
    float x = Math.max(-CLAMP, Math.min(CLAMP, v));
    float x2 = x * x;
    float p = P0 * x2 + P1;
    p = p * x2 + P2;
    p = p * x2 + P3;
    p = p * x2 + P4;
    p = p * x2 + P5;
    p = p * x2 + P6;
    float q = Q0 * x2 + Q1;
    q = q * x2 + Q2;
    q = q * x2 + Q3;
    q = q * x2 + Q4;
    return x * p / q;
  }

  /** The exact GELU: 0.5 · v · (1 + erf(v / √2)). */
  public static float gelu(float v) {
    return 0.5f * v * (1f + erf(v * RSQRT2));
  }
}
