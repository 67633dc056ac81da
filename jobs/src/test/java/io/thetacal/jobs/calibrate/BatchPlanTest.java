package io.thetacal.jobs.calibrate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.spark.Partitioner;
import org.junit.jupiter.api.Test;

class BatchPlanTest {
  /** A length histogram like an ingested corpus: many short sequences, a long tail up to 128 tokens. */
  static Map<Integer, Long> corpus(long seed, int sequences) {
    Random r = new Random(seed);
    Map<Integer, Long> out = new TreeMap<>();
    for (int i = 0; i < sequences; i++) {
      int n = r.nextInt(10) < 4 ? 128 : 4 + r.nextInt(124);
      out.merge(n, 1L, Long::sum);
    }
    return out;
  }

  @Test
  void batchTokensFollowFromTheLengthHistogramInLengthOrder() {
    // sorted lengths 3 3 3 3 | 3 7 7 7 | 7
    assertArrayEquals(new long[] {12, 24, 7}, BatchPlan.batchTokens(Map.of(7, 4L, 3, 5L), 4));
    assertArrayEquals(new long[0], BatchPlan.batchTokens(Map.of(), 8));
  }

  @Test
  void longestFirstKeepsPartitionsWithinOneBatchOfEachOther() {
    for (long seed = 1; seed <= 20; seed++) {
      long[] tokens = BatchPlan.batchTokens(corpus(seed, 200 + (int) seed * 37), 8);
      long largest = Arrays.stream(tokens).max().orElseThrow();
      for (int partitions : new int[] {2, 4, 8}) {
        long[] loads = BatchPlan.loads(tokens, BatchPlan.assign(tokens, partitions), partitions);
        long max = Arrays.stream(loads).max().orElseThrow();
        long min = Arrays.stream(loads).min().orElseThrow();
        assertTrue(max - min <= largest, "seed " + seed + ", " + partitions + " partitions: " + Arrays.toString(loads));
        assertEquals(Arrays.stream(tokens).sum(), Arrays.stream(loads).sum());
      }
    }
  }

  @Test
  void batchesOfGrowingLengthAreNotStackedOnTheLastPartitionAsHashingWould() {
    long[] tokens = new long[12];
    for (int b = 0; b < tokens.length; b++) {
      tokens[b] = 100L * (b + 1);
    }
    // hashing batch numbers: partition 3 gets batches 3, 7, 11 = 2400 tokens of 7800
    assertArrayEquals(new long[] {2100, 2000, 1900, 1800}, BatchPlan.loads(tokens, BatchPlan.assign(tokens, 4), 4));
  }

  @Test
  void groupsAreCutSeparatelySoNoBatchSpansTwoGroups() {
    // 5 sequences of 3 tokens, then 3 of 7, in batches of 4: as one group [12, 3 + 21]; as two groups
    // [12, 3] and [21], dealt longest first
    BatchPlan.Plan one = BatchPlan.plan(Map.of(3, 5L, 7, 3L), 4, 1);
    BatchPlan.Plan two = BatchPlan.plan(List.of(Map.of(3, 5L), Map.of(7, 3L)), 4, 3);
    assertArrayEquals(new long[] {36}, one.partitionTokens());
    assertArrayEquals(new long[] {21, 12, 3}, two.partitionTokens());
    assertEquals(2, two.partitioner().getPartition(1L));
    assertEquals(0, two.partitioner().getPartition(2L));
    assertThrows(IllegalArgumentException.class, () -> two.partitioner().getPartition(3L));
  }

  @Test
  void planIsDeterministicAndCoversEveryBatch() {
    Map<Integer, Long> lengths = corpus(7, 500);
    BatchPlan.Plan a = BatchPlan.plan(lengths, 8, 6);
    BatchPlan.Plan b = BatchPlan.plan(new TreeMap<>(lengths), 8, 6);
    assertEquals(a.partitioner(), b.partitioner());
    assertArrayEquals(a.partitionTokens(), b.partitionTokens());
    assertEquals(6, a.partitioner().numPartitions());
    long batches = (500 + 7) / 8;
    for (long batch = 0; batch < batches; batch++) {
      int p = a.partitioner().getPartition(batch);
      assertTrue(p >= 0 && p < 6, "batch " + batch + " → " + p);
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> a.partitioner().getPartition(batches));
    assertTrue(e.getMessage().contains("outside the plan of " + batches + " batches"), e.getMessage());
  }

  @Test
  void snakeOrderGoesBackAndForth() {
    Partitioner snake = new BatchPlan.Snake(3);
    int[] got = new int[9];
    for (int b = 0; b < got.length; b++) {
      got[b] = snake.getPartition((long) b);
    }
    assertArrayEquals(new int[] {0, 1, 2, 2, 1, 0, 0, 1, 2}, got);
  }
}
