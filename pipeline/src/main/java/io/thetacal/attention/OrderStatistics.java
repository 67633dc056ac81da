package io.thetacal.attention;

/**
 * Linear-time (expected) selection of order statistics within one attention row, without sorting.
 * Deterministic: the pivot is a median of three, so the same input always takes the same path.
 */
public final class OrderStatistics {
  private OrderStatistics() {
  }

  /**
   * The k-th largest value of {@code src[off .. off + n)}, for 0 < k < n, with the row copied into
   * {@code scratch} (at least n floats) and rearranged for exact top-k: {@code scratch[n - k .. n)} holds
   * the k largest values, {@code scratch[n - k - 1]} the (k+1)-th largest, and everything before it is
   * no larger. Values must not be NaN.
   */
  public static float selectTopK(float[] src, int off, int n, int k, float[] scratch) {
    if (k < 1 || k >= n) {
      throw new IllegalArgumentException("k " + k + " is outside 1.." + (n - 1));
    }
    System.arraycopy(src, off, scratch, 0, n);
    selectInPlace(scratch, 0, n, n - k - 1);
    float t = scratch[n - k];
    for (int p = n - k + 1; p < n; p++) {
      t = Math.min(t, scratch[p]);
    }
    return t;
  }

  /**
   * Rearranges {@code a[from .. to)} so that the element at {@code from + idx} is the one that would be
   * there in ascending order, everything before it is <= and everything after it is >=; returns it.
   * A quickselect with a branch-free Lomuto partition (median-of-three pivot), which random scores cannot
   * mispredict, and insertion sort below 16 elements; when ties keep a partition from shrinking the range,
   * the rest goes to a Hoare partition, which splits runs of equal values. The value is the order
   * statistic whatever the path.
   */
  public static float selectInPlace(float[] a, int from, int to, int idx) {
    int lo = from;
    int hi = to - 1;
    int target = from + idx;
    int strikes = 0;
    while (hi - lo >= 16) {
      int mid = (lo + hi) >>> 1;
      // median of three into a[hi]
      sortThree(a, lo, mid, hi);
      swap(a, mid, hi);
      float pivot = a[hi];
      int i = lo;
      for (int j = lo; j < hi; j++) {
        float v = a[j];
        a[j] = a[i];
        a[i] = v;
        i += v < pivot ? 1 : 0;
      }
      a[hi] = a[i];
      a[i] = pivot;
      int before = hi - lo;
      if (target == i) {
        return pivot;
      } else if (target < i) {
        hi = i - 1;
      } else {
        lo = i + 1;
      }
      if (8 * (hi - lo) > 7 * before && ++strikes >= 3) {
        return selectSplittingTies(a, lo, hi + 1, target);
      }
    }
    for (int i = lo + 1; i <= hi; i++) {
      float v = a[i];
      int j = i - 1;
      while (j >= lo && a[j] > v) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = v;
    }
    return a[target];
  }

  /** {@link #selectInPlace} by Hoare partitions, which shrink the range however many values are equal. */
  private static float selectSplittingTies(float[] a, int from, int to, int target) {
    int lo = from;
    int hi = to - 1;
    while (hi > lo) {
      int mid = (lo + hi) >>> 1;
      sortThree(a, lo, mid, hi);
      float pivot = a[mid];
      int i = lo;
      int j = hi;
      while (i <= j) {
        while (a[i] < pivot) {
          i++;
        }
        while (a[j] > pivot) {
          j--;
        }
        if (i <= j) {
          swap(a, i, j);
          i++;
          j--;
        }
      }
      if (target <= j) {
        hi = j;
      } else if (target >= i) {
        lo = i;
      } else {
        return a[target];
      }
    }
    return a[target];
  }

  /** Orders a[lo] <= a[mid] <= a[hi]: the median of the three lands in a[mid]. */
  private static void sortThree(float[] a, int lo, int mid, int hi) {
    if (a[mid] < a[lo]) {
      swap(a, mid, lo);
    }
    if (a[hi] < a[lo]) {
      swap(a, hi, lo);
    }
    if (a[hi] < a[mid]) {
      swap(a, hi, mid);
    }
  }

  private static void swap(float[] a, int i, int j) {
    float t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
