package io.thetacal.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MetricsTest {

  @Test
  void relativeErrorIsDistanceOverReferenceNorm() {
    assertEquals(0.6, Metrics.relativeError(new float[] {0, 4}, new float[] {3, 4}), 1e-15);
    assertEquals(0.0, Metrics.relativeError(new float[] {0, 0}, new float[] {0, 0}));
    assertEquals(Double.POSITIVE_INFINITY, Metrics.relativeError(new float[] {1}, new float[] {0}));
    assertEquals(9.0, Metrics.squaredDistance(new float[] {0, 4}, new float[] {3, 4}));
    assertEquals(25.0, Metrics.squaredNorm(new float[] {3, 4}));
  }

  @Test
  void relativeErrorRejectsVectorsOfDifferentLength() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Metrics.relativeError(new float[2], new float[3]));
    assertEquals("vectors differ in length: 2 vs 3", e.getMessage());
  }

  @Test
  void cosineOfHandPickedVectors() {
    assertEquals(1 / Math.sqrt(2), Metrics.cosine(new float[] {1, 0}, new float[] {1, 1}), 1e-15);
    assertEquals(-1.0, Metrics.cosine(new float[] {2, 2}, new float[] {-1, -1}), 1e-15);
    assertTrue(Double.isNaN(Metrics.cosine(new float[] {0, 0}, new float[] {1, 1})));
  }

  @Test
  void logSumExpIsStableForLargeLogits() {
    assertEquals(Math.log(4), Metrics.logSumExp(new float[] {0f, (float) Math.log(3)}, 0, 2), 1e-7);
    assertEquals(1000 + Math.log(2), Metrics.logSumExp(new float[] {9, 1000, 1000}, 1, 2), 1e-12);
    assertEquals(-1000 + Math.log(2), Metrics.logSumExp(new float[] {-1000, -1000}, 0, 2), 1e-12);
  }

  @Test
  void nextTokenNllSumsOverPredictedPositions() {
    float ln3 = (float) Math.log(3);
    // vocab 2; position 0 logits (0, 0) predicts token 1: −log(1/2); position 1 logits (ln3, 0)
    // predicts token 0: −log(3/4); the last position predicts nothing
    float[] logits = {0, 0, ln3, 0, 5, -5};
    double nll = Metrics.nextTokenNllSum(logits, 2, new int[] {0, 1, 0});
    assertEquals(Math.log(2) + Math.log(4.0 / 3), nll, 1e-7);
  }

  @Test
  void nextTokenNllRejectsMisSizedLogitsAndForeignTokens() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Metrics.nextTokenNllSum(new float[5], 2, new int[] {0, 1, 0}));
    assertEquals("logits hold 5 values but must hold length × vocab = 3 × 2", e.getMessage());
    IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
        () -> Metrics.nextTokenNllSum(new float[4], 2, new int[] {0, 7}));
    assertEquals("token 7 at position 1 is outside the vocabulary [0, 2)", f.getMessage());
  }

  @Test
  void argmaxPrefersLowestIndexOnTies() {
    assertEquals(1, Metrics.argmax(new float[] {0, 3, 3, 1}, 0, 4));
    assertEquals(0, Metrics.argmax(new float[] {0, 3, 3, 1}, 2, 2));
  }

  @Test
  void top1AgreementCountsPositionsWithTheSamePrediction() {
    float[] a = {1, 0, 0, /**/ 0, 2, 0, /**/ 0, 0, 1};
    float[] b = {5, 1, 1, /**/ 3, 0, 0, /**/ 0, 1, 2};
    assertEquals(2, Metrics.top1Agreements(a, b, 3, 3));
  }
}
