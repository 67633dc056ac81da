package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CalibrationSelectTest {
  @Test
  void selectionReturnsTheOrderStatisticAndPartitionsAroundItWithAndWithoutTies() {
    SplittableRandom rnd = new SplittableRandom(7);
    for (int trial = 0; trial < 3000; trial++) {
      int n = 1 + rnd.nextInt(trial % 3 == 0 ? 600 : 140);
      int distinct = trial % 4 == 0 ? 1 + rnd.nextInt(3) : Integer.MAX_VALUE;
      float[] a = new float[n + 10];
      for (int i = 0; i < a.length; i++) {
        a[i] = distinct == Integer.MAX_VALUE ? (float) rnd.nextGaussian() : rnd.nextInt(distinct);
      }
      int from = rnd.nextInt(5);
      int to = from + n;
      int target = from + rnd.nextInt(n);
      float[] sorted = Arrays.copyOfRange(a, from, to);
      Arrays.sort(sorted);
      float[] before = a.clone();
      float t = CalibrationState.select(a, from, to, target);
      assertEquals(sorted[target - from], t, "trial " + trial);
      assertEquals(t, a[target]);
      for (int i = from; i < to; i++) {
        assertTrue(i < target ? a[i] <= t : i == target || a[i] >= t, "trial " + trial + " at " + i);
      }
      float[] after = Arrays.copyOfRange(a, from, to);
      Arrays.sort(after);
      assertTrue(Arrays.equals(sorted, after), "the range keeps its multiset");
      for (int i = 0; i < a.length; i++) {
        if (i < from || i >= to) {
          assertEquals(before[i], a[i], "outside the range is untouched");
        }
      }
    }
  }
}
