package io.thetacal.calibration;

import java.io.Serializable;
import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * Maps a row length n (visible keys) to a bucket: every length up to {@code exactLimit} is its own
 * bucket; longer rows fall into geometric buckets, {@code bucketsPerOctave} per doubling of n, up to
 * {@code maxPositions}. Geometric bucket i covers n in (e_i, e_{i+1}] with
 * e_i = floor(exactLimit · 2^(i / bucketsPerOctave)) (empty buckets are skipped, the last one is cut at
 * maxPositions). A bucket's representative length is its midpoint floor((lo + hi) / 2); exact buckets
 * represent themselves. Immutable and serializable; equal when built from equal parameters.
 */
public final class RowLengthIndex implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final int EXACT_LIMIT_DEFAULT = 64;
  public static final int BUCKETS_PER_OCTAVE_DEFAULT = 8;

  private final int exactLimit;
  private final int bucketsPerOctave;
  private final int maxPositions;
  private final int[] lo;
  private final int[] hi;

  public RowLengthIndex(int exactLimit, int bucketsPerOctave, int maxPositions) {
    if (exactLimit < 1) {
      throw new IllegalArgumentException(
          "'exactLengthLimit' is set to " + exactLimit + " but must be >= 1");
    }
    if (bucketsPerOctave < 1 || bucketsPerOctave > 1024) {
      throw new IllegalArgumentException("'bucketsPerOctave' is set to " + bucketsPerOctave
          + " but must be in 1..1024");
    }
    if (maxPositions < 1) {
      throw new IllegalArgumentException(
          "'maxPositions' is set to " + maxPositions + " but must be >= 1");
    }
    this.exactLimit = exactLimit;
    this.bucketsPerOctave = bucketsPerOctave;
    this.maxPositions = maxPositions;
    int exact = Math.min(exactLimit, maxPositions);
    int[] los = new int[exact + 64];
    int[] his = new int[exact + 64];
    int count = 0;
    for (int n = 1; n <= exact; n++) {
      los[count] = n;
      his[count] = n;
      count++;
    }
    long prev = exactLimit;
    for (int i = 1; prev < maxPositions; i++) {
      long e = (long) Math.floor(exactLimit * StrictMath.pow(2.0, (double) i / bucketsPerOctave));
      if (e <= prev) {
        continue;
      }
      if (count == los.length) {
        los = Arrays.copyOf(los, count * 2);
        his = Arrays.copyOf(his, count * 2);
      }
      los[count] = (int) prev + 1;
      his[count] = (int) Math.min(e, maxPositions);
      count++;
      prev = e;
    }
    this.lo = Arrays.copyOf(los, count);
    this.hi = Arrays.copyOf(his, count);
  }

  /** The default index (exact up to 64, then 8 buckets per octave) for a model's longest row. */
  public static RowLengthIndex defaults(int maxPositions) {
    return new RowLengthIndex(EXACT_LIMIT_DEFAULT, BUCKETS_PER_OCTAVE_DEFAULT, maxPositions);
  }

  public int exactLimit() {
    return exactLimit;
  }

  public int bucketsPerOctave() {
    return bucketsPerOctave;
  }

  public int maxPositions() {
    return maxPositions;
  }

  public int numBuckets() {
    return lo.length;
  }

  /** The bucket of row length n, which must be in 1..maxPositions. */
  public int bucketOf(int n) {
    if (n < 1 || n > maxPositions) {
      throw new IllegalArgumentException(
          "row length " + n + " is outside 1.." + maxPositions + " (the model's maximum positions)");
    }
    if (n <= exactLimit) {
      return n - 1;
    }
    int i = Arrays.binarySearch(lo, n);
    return i >= 0 ? i : -i - 2;
  }

  /** Smallest row length of bucket b (inclusive). */
  public int lowerBound(int b) {
    return lo[b];
  }

  /** Largest row length of bucket b (inclusive). */
  public int upperBound(int b) {
    return hi[b];
  }

  /** The row length that stands for bucket b: the midpoint floor((lo + hi) / 2). */
  public int representative(int b) {
    return (lo[b] + hi[b]) >>> 1;
  }

  /**
   * The calibrated bucket to use for row length n: its own bucket when calibrated, else the calibrated
   * bucket whose representative length is nearest to n (ties go to the shorter one; beyond the longest
   * calibrated bucket, the longest). Returns -1 when no bucket is calibrated.
   */
  public int nearestCalibrated(int n, IntPredicate calibrated) {
    int b = bucketOf(n);
    if (calibrated.test(b)) {
      return b;
    }
    int down = b - 1;
    while (down >= 0 && !calibrated.test(down)) {
      down--;
    }
    int up = b + 1;
    while (up < lo.length && !calibrated.test(up)) {
      up++;
    }
    if (up >= lo.length) {
      return down;
    }
    if (down < 0) {
      return up;
    }
    long dDown = (long) n - representative(down);
    long dUp = (long) representative(up) - n;
    return dDown <= dUp ? down : up;
  }

  /** Inclusive lower bounds of all buckets, in order. */
  public int[] lowerBounds() {
    return lo.clone();
  }

  /** Inclusive upper bounds of all buckets, in order. */
  public int[] upperBounds() {
    return hi.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RowLengthIndex r && r.exactLimit == exactLimit
        && r.bucketsPerOctave == bucketsPerOctave && r.maxPositions == maxPositions;
  }

  @Override
  public int hashCode() {
    return (exactLimit * 31 + bucketsPerOctave) * 31 + maxPositions;
  }

  @Override
  public String toString() {
    return "RowLengthIndex[exactLimit=" + exactLimit + ", bucketsPerOctave=" + bucketsPerOctave
        + ", maxPositions=" + maxPositions + ", buckets=" + lo.length + "]";
  }
}
