package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RowBinsTest {
  /** Histogram ranges and bin counts as configs give them: the defaults, a narrow range, selection bins. */
  private static final double[][] SCORE_RANGES = {{-16, 48, 256}, {-2, 2, 16}, {-16, 48, 64}, {-7.3, 11.9, 100},
      {-0.1, 1e-3, 4096}, {-16, 48, 65_536}};
  private static final int LANES = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();

  /** Where the float lanes' error bound is small, the vector path does the row; where not, the scalar path. */
  private static int vectorPart(int n, double offset, double perUnit, double top) {
    return Double.isFinite(VectorRowBins.errorBound(offset, perUnit, top)) ? n - n % LANES : 0;
  }

  @Test
  void theFloatLanesBinTheDefaultHistogramsWithFewLanesLeftToTheScalarPath() {
    assertTrue(VectorRowBins.errorBound(-16, 256 / 64.0 * 16, 256 * 16) < 0.003);
    assertTrue(VectorRowBins.errorBound(-40.7, 256 / 32.0, 256) < 0.0003);
    assertEquals(Double.POSITIVE_INFINITY, VectorRowBins.errorBound(-16, 65_536 / 64.0 * 16, 65_536 * 16));
  }

  @Test
  void vectorScoreCodesEqualTheScalarCodeForEveryValueKind() {
    assumeTrue(CalibrationState.VECTOR, "the jdk.incubator.vector module is not present");
    SplittableRandom rnd = new SplittableRandom(5);
    for (double[] r : SCORE_RANGES) {
      double min = r[0];
      int bins = (int) r[2];
      double perUnit = bins / (r[1] - r[0]);
      for (int round = 0; round < 2000; round++) {
        float[] a = values(rnd, min, r[1], bins, 131);
        int off = rnd.nextInt(3);
        int n = a.length - off - rnd.nextInt(3);
        int[] out = new int[n];
        int done = VectorRowBins.scoreCodes(a, off, n, min, perUnit, bins, out);
        assertEquals(vectorPart(n, min, perUnit * 16, bins * 16), done);
        for (int j = 0; j < done; j++) {
          assertEquals(RowBins.scoreCode(a[off + j], min, perUnit, bins), out[j],
              "code of " + a[off + j] + " on [" + r[0] + ", " + r[1] + ") in " + bins + " bins");
        }
      }
    }
  }

  @Test
  void vectorLogBinsEqualTheScalarSlotForEveryValueKind() {
    assumeTrue(CalibrationState.VECTOR, "the jdk.incubator.vector module is not present");
    SplittableRandom rnd = new SplittableRandom(7);
    for (int bins : new int[] {256, 16, 3, 4096}) {
      double perUnit = bins / -CalibrationState.LOG_PROBABILITY_MIN;
      for (int round = 0; round < 2000; round++) {
        float max = (float) (rnd.nextGaussian() * 8);
        double shift = (double) max + StrictMath.log(rnd.nextDouble(1, 100)) + CalibrationState.LOG_PROBABILITY_MIN;
        float[] a = values(rnd, shift, shift - CalibrationState.LOG_PROBABILITY_MIN, bins, 133);
        int n = a.length;
        int[] out = new int[n];
        int done = VectorRowBins.logBins(a, 0, n, shift, perUnit, bins, out);
        assertEquals(vectorPart(n, shift, perUnit, bins), done);
        for (int j = 0; j < done; j++) {
          assertEquals(RowBins.logBin(a[j], shift, perUnit, bins), out[j],
              "slot of " + a[j] + " with shift " + shift + " in " + bins + " bins");
        }
      }
    }
  }

  @Test
  void dispatchCoversTheTailAfterTheLastFullVector() {
    float[] a = {-20f, -16f, 0f, 1.5f, 47.9f, 48f, 1e30f, Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY,
        -0f};
    int[] out = new int[a.length];
    double perUnit = 256 / 64.0;
    RowBins.scoreCodes(a, 0, a.length, -16, perUnit, 256, out);
    int[] expected = {0, 16, 16 * 65, 16 * 71, 4105, 16 * 257, 16 * 257, 16, 0, 16 * 257, 16 * 65};
    for (int j = 0; j < a.length; j++) {
      assertEquals(RowBins.scoreCode(a[j], -16, perUnit, 256), out[j], "code of " + a[j]);
      assertEquals(expected[j], out[j], "code of " + a[j] + " (NaN goes where Java's cast puts it: the first bin)");
    }
  }

  /**
   * n values of every kind a row can hold around a range [lo, hi) of the given bins: inside, below,
   * above, exactly on bin and sub-bin edges and one ulp either side, huge, infinite, NaN, signed zeros.
   */
  private static float[] values(SplittableRandom rnd, double lo, double hi, int bins, int n) {
    float[] a = new float[n];
    double width = (hi - lo) / bins / 16;
    for (int j = 0; j < n; j++) {
      int kind = rnd.nextInt(10);
      float edge = (float) (lo + width * rnd.nextInt(-32, bins * 16 + 32));
      a[j] = switch (kind) {
        case 0 -> edge;
        case 1 -> Math.nextUp(edge);
        case 2 -> Math.nextDown(edge);
        case 3 -> (float) rnd.nextDouble(lo - 10, lo);
        case 4 -> (float) rnd.nextDouble(hi, hi + 10);
        case 5 -> rnd.nextBoolean() ? Float.MAX_VALUE : -Float.MAX_VALUE;
        case 6 -> rnd.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
        case 7 -> rnd.nextInt(8) == 0 ? Float.NaN : (rnd.nextBoolean() ? 0f : -0f);
        default -> (float) rnd.nextDouble(lo, hi);
      };
    }
    return a;
  }
}
