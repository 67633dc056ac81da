package io.thetacal.model.bert;

/**
 * The error function in single precision: an odd rational polynomial on [-4, 4] (the form Eigen and XLA
 * use; |error| < 5e-7), branch-free so loops over it vectorize. The exact-GELU activation spends most of
 * its time here.
 */
final class Erf {
  private Erf() {
  }

  static float erf(float v) {
    float x = Math.max(-4f, Math.min(4f, v));
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 - 2.10102402082508e-06f;
    p = p * x2 - 5.69250639462346e-05f;
    p = p * x2 - 7.34990630326855e-04f;
    p = p * x2 - 2.95459980854025e-03f;
    p = p * x2 - 1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * x2 - 2.13374055278905e-04f;
    q = q * x2 - 1.68282697438203e-03f;
    q = q * x2 - 7.37332916720468e-03f;
    q = q * x2 - 1.42647390514189e-02f;
    return x * p / q;
  }
}
