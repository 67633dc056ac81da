package io.thetacal.jobs.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

class SplitsTest {
  @Test
  void splitDependsOnlyOnSeedAndDocumentId() {
    assertEquals(Splits.unit(7, "doc-1"), Splits.unit(7, "doc-1"));
    assertNotEquals(Splits.unit(7, "doc-1"), Splits.unit(8, "doc-1"));
  }

  @Test
  void holdoutShareMatchesTheFraction() {
    int holdout = 0;
    int n = 20000;
    for (int i = 0; i < n; i++) {
      if (Splits.of(42, "d" + i, 0.2).equals(Splits.HOLDOUT)) {
        holdout++;
      }
    }
    // Binomial(20000, 0.2): sd = 56.6; 5 sd either side.
    assertEquals(0.2 * n, holdout, 5 * Math.sqrt(n * 0.2 * 0.8));
  }
}
