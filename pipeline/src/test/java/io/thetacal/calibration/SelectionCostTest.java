package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionKernel;
import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.Placement;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Measures what one calibration update costs against sorting each row (the reference's way), on the
 * same rows through the same kernel, and checks the chained quickselect is the cheaper one on long rows.
 */
class SelectionCostTest {

  private static long timeNanos(AttentionObserver observer, float[][] rows, int reps) {
    AttentionKernel kernel = new AttentionKernel(AttentionMode.dense(), observer, null);
    float[] a = new float[rows[0].length];
    long best = Long.MAX_VALUE;
    for (int rep = 0; rep < reps; rep++) {
      long t0 = System.nanoTime();
      for (float[] r : rows) {
        System.arraycopy(r, 0, a, 0, r.length);
        kernel.apply(0, 0, 0, 0, a, 0, r.length, null, 0);
      }
      best = Math.min(best, System.nanoTime() - t0);
    }
    return best / rows.length;
  }

  @Test
  void chainedSelectionIsCheaperThanSortingLongRows() {
    CalibrationConfig c = CalibrationConfig.defaults().withHistogram(-16, 48, 0)
        .withPlacements(Placement.PRE_SOFTMAX);
    int[] ks = c.kGrid().stream().mapToInt(Integer::intValue).toArray();
    SplittableRandom rnd = new SplittableRandom(1);
    for (int n : new int[] {512, 2048, 8192}) {
      CalibrationGeometry g = new CalibrationGeometry(1, 1, n);
      float[][] rows = new float[200][n];
      for (float[] r : rows) {
        for (int j = 0; j < n; j++) {
          r[j] = (float) rnd.nextGaussian();
        }
      }
      float[] sortSink = new float[ks.length];
      AttentionObserver sorting = row -> {
        float[] s = Arrays.copyOfRange(row.scores(), row.offset(), row.offset() + row.n());
        Arrays.sort(s);
        for (int i = 0; i < ks.length; i++) {
          sortSink[i] += s[row.n() - 1 - ks[i]];
        }
      };
      CalibrationState state = new CalibrationState(g, c);
      AttentionObserver dense = AttentionObserver.NONE;
      timeNanos(state, rows, 10);
      timeNanos(sorting, rows, 10);
      long kernelOnly = timeNanos(dense, rows, 5);
      long select = timeNanos(state, rows, 5);
      long sort = timeNanos(sorting, rows, 5);
      System.out.printf("n = %d: kernel alone %d ns/row; kernel + state update (select, %d k, SDC "
          + "mass) %d ns/row; kernel + full sort %d ns/row%n", n, kernelOnly, ks.length, select, sort);
      assertEquals(200L * 15, state.rows(0, 0, state.rowLengthIndex().bucketOf(n), 0));
      if (n == 8192) {
        assertTrue(select < sort, "select " + select + " ns vs sort " + sort + " ns per row");
      }
    }
  }
}
