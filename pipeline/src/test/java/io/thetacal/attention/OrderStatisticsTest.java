package io.thetacal.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class OrderStatisticsTest {
  @Test
  void selectionReturnsTheOrderStatisticAndPartitionsAroundItWithAndWithoutTies() {
    SplittableRandom rnd = new SplittableRandom(7);
    for (int trial = 0; trial < 3000; trial++) {
      int n = 1 + rnd.nextInt(trial % 3 == 0 ? 600 : 140);
      int distinct = trial % 4 == 0 ? 1 + rnd.nextInt(3) : Integer.MAX_VALUE;
      float[] a = new float[n + 10];
      for (int i = 0; i < a.length; i++) {
        a[i] = distinct == Integer.MAX_VALUE ? (float) rnd.nextGaussian() : rnd.nextInt(distinct);
        // masked keys' scores
        a[i] = trial % 5 == 1 && rnd.nextInt(8) == 0 ? Float.NEGATIVE_INFINITY : a[i];
      }
      int from = rnd.nextInt(5);
      int to = from + n;
      int target = from + rnd.nextInt(n);
      float[] sorted = Arrays.copyOfRange(a, from, to);
      Arrays.sort(sorted);
      float[] before = a.clone();
      float t = OrderStatistics.selectInPlace(a, from, to, target - from);
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

  @Test
  void selectTopKReturnsTheKthLargestAndLaysOutTheKLargestAboveTheNextOneAndLeavesTheRowAsItWas() {
    SplittableRandom rnd = new SplittableRandom(11);
    for (int trial = 0; trial < 500; trial++) {
      int n = 2 + rnd.nextInt(300);
      float[] row = new float[n + 3];
      for (int i = 0; i < row.length; i++) {
        row[i] = trial % 3 == 0 ? rnd.nextInt(4) : (float) rnd.nextGaussian();
      }
      float[] before = row.clone();
      float[] sorted = Arrays.copyOfRange(row, 2, 2 + n);
      Arrays.sort(sorted);
      int k = 1 + rnd.nextInt(n - 1);
      float[] scratch = new float[n + 5];
      assertEquals(sorted[n - k], OrderStatistics.selectTopK(row, 2, n, k, scratch), "trial " + trial);
      assertTrue(Arrays.equals(before, row), "the row itself is not reordered");
      assertEquals(sorted[n - k - 1], scratch[n - k - 1], "the (k+1)-th largest, trial " + trial);
      float[] top = Arrays.copyOfRange(scratch, n - k, n);
      float[] rest = Arrays.copyOfRange(scratch, 0, n - k - 1);
      Arrays.sort(top);
      Arrays.sort(rest);
      assertArrayEquals(Arrays.copyOfRange(sorted, n - k, n), top, "the k largest, trial " + trial);
      assertArrayEquals(Arrays.copyOfRange(sorted, 0, n - k - 1), rest, "the others, trial " + trial);
    }
    assertThrows(IllegalArgumentException.class, () -> OrderStatistics.selectTopK(new float[4], 0, 4, 4,
        new float[4]));
  }
}
