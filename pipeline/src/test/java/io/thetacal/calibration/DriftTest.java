package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class DriftTest {

  @Test
  void identicalShapesHaveNoDrift() {
    double[] edges = {-1, 0, 2, 5};
    assertEquals(0.0, Drift.wasserstein1(edges, new long[] {1, 4, 2}, new long[] {2, 8, 4}), 1e-15);
  }

  @Test
  void disjointUniformBinsAreOneBinWidthApart() {
    // uniform on [0,1) against uniform on [1,2): every unit of mass moves by 1
    assertEquals(1.0, Drift.wasserstein1(new double[] {0, 1, 2}, new long[] {3, 0}, new long[] {0, 7}),
        1e-15);
  }

  @Test
  void signChangeInsideABinIsIntegratedExactly() {
    // a: half on [0,1), half on [2,3); b: all on [1,2). ∫|F_a − F_b| = 0.25 + 0.25 + 0.25
    double w = Drift.wasserstein1(new double[] {0, 1, 2, 3}, new long[] {1, 0, 1}, new long[] {0, 2, 0});
    assertEquals(0.75, w, 1e-15);
  }

  @Test
  void binWidthsScaleTheDistance() {
    double w = Drift.wasserstein1(new double[] {0, 10, 11}, new double[] {1, 0}, new double[] {0, 1});
    // uniform on [0,10) against uniform on [10,11): mean shift 10.5 − 5 = 5.5, CDFs never cross
    assertEquals(5.5, w, 1e-12);
  }

  @Test
  void symmetricInItsArguments() {
    double[] edges = {0, 0.5, 1.5, 2, 4};
    long[] a = {3, 1, 0, 9};
    long[] b = {1, 5, 2, 2};
    assertEquals(Drift.wasserstein1(edges, a, b), Drift.wasserstein1(edges, b, a), 1e-15);
  }

  @Test
  void rejectsBadHistogramsNamingWhatIsWrong() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Drift.wasserstein1(new double[] {0, 1}, new long[] {1, 2}, new long[] {1}));
    assertEquals("histogram 'a' has 2 counts but the edges define 1 bins", e.getMessage());
    IllegalArgumentException f = assertThrows(IllegalArgumentException.class,
        () -> Drift.wasserstein1(new double[] {0, 1, 1}, new long[] {1, 2}, new long[] {1, 2}));
    assertEquals("histogram edge 2 is 1.0 but edges must be finite and strictly increasing",
        f.getMessage());
    IllegalArgumentException g = assertThrows(IllegalArgumentException.class,
        () -> Drift.wasserstein1(new double[] {0, 1}, new long[] {1}, new long[] {0}));
    assertEquals("histogram 'b' is empty; drift needs mass in both", g.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> Drift.wasserstein1(new double[] {0, 1}, new long[] {-1}, new long[] {1}));
  }
}
