package io.thetacal.jobs.calibrate;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.spark.Partitioner;

/**
 * Which partition each calibration batch goes to, balanced by tokens. Batches are cut from the sequences
 * of each batch group (a corpus file) sorted by length, so batch {@code b}'s token count follows from the
 * groups' length histograms alone; the
 * batches are dealt out longest first, each to the partition with the fewest tokens so far (ties: the
 * lower partition), which keeps every partition within one batch of the mean. Hashing batch numbers
 * instead would give the partitions with the higher numbers the longest batches. The assignment only
 * decides where a batch runs, never what it holds, so thresholds stay bitwise the same.
 */
final class BatchPlan {
  /** Above this many batches the plan deals them in a snake order instead of storing one int each. */
  static final int MAX_PLANNED_BATCHES = 1 << 22;

  private BatchPlan() {
  }

  /**
   * Tokens of each batch of {@code batchSize} sequences cut from the length-sorted sequences whose
   * lengths are counted in {@code lengthCounts} (length → sequences).
   */
  static long[] batchTokens(Map<Integer, Long> lengthCounts, int batchSize) {
    SortedMap<Integer, Long> sorted = new TreeMap<>(lengthCounts);
    long sequences = sorted.values().stream().mapToLong(Long::longValue).sum();
    long batches = (sequences + batchSize - 1) / batchSize;
    if (batches > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(sequences + " sequences in batches of " + batchSize
          + " are too many batches for one plan");
    }
    long[] tokens = new long[(int) batches];
    long index = 0;
    for (Map.Entry<Integer, Long> e : sorted.entrySet()) {
      long left = e.getValue();
      while (left > 0) {
        long inBatch = Math.min(left, batchSize - index % batchSize);
        tokens[(int) (index / batchSize)] += inBatch * e.getKey();
        index += inBatch;
        left -= inBatch;
      }
    }
    return tokens;
  }

  /**
   * Longest-first assignment of batches to {@code partitions}: the partition of each batch. Deterministic
   * for given token counts.
   */
  static int[] assign(long[] batchTokens, int partitions) {
    Integer[] order = new Integer[batchTokens.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> batchTokens[a] != batchTokens[b] ? Long.compare(batchTokens[b], batchTokens[a])
        : Integer.compare(a, b));
    PriorityQueue<long[]> loads = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0])
        : Long.compare(a[1], b[1]));
    for (int p = 0; p < partitions; p++) {
      loads.add(new long[] {0, p});
    }
    int[] out = new int[batchTokens.length];
    for (int b : order) {
      long[] least = loads.poll();
      out[b] = (int) least[1];
      least[0] += batchTokens[b];
      loads.add(least);
    }
    return out;
  }

  /** Tokens per partition under an assignment. */
  static long[] loads(long[] batchTokens, int[] assignment, int partitions) {
    long[] out = new long[partitions];
    for (int b = 0; b < batchTokens.length; b++) {
      out[assignment[b]] += batchTokens[b];
    }
    return out;
  }

  /**
   * Where the batches go: the partitioner for batch numbers (Long keys) and the tokens each partition
   * receives.
   */
  record Plan(Partitioner partitioner, long[] partitionTokens) {
    long maxTokens() {
      return Arrays.stream(partitionTokens).max().orElse(0);
    }

    long minTokens() {
      return Arrays.stream(partitionTokens).min().orElse(0);
    }
  }

  /** The plan for a calibration with the given length histogram (length → sequences). */
  static Plan plan(Map<Integer, Long> lengthCounts, int batchSize, int partitions) {
    return plan(List.of(lengthCounts), batchSize, partitions);
  }

  /**
   * The plan for batch groups cut one after the other (a batch never spans two groups), each given by its
   * length histogram (length → sequences), in the order their batches are numbered.
   */
  static Plan plan(List<Map<Integer, Long>> groups, int batchSize, int partitions) {
    long batches = 0;
    for (Map<Integer, Long> g : groups) {
      long sequences = g.values().stream().mapToLong(Long::longValue).sum();
      batches += (sequences + batchSize - 1) / batchSize;
    }
    if (batches > MAX_PLANNED_BATCHES) {
      Snake snake = new Snake(partitions);
      long[] loads = new long[partitions];
      long firstBatch = 0;
      for (Map<Integer, Long> g : groups) {
        long index = 0;
        for (Map.Entry<Integer, Long> e : new TreeMap<>(g).entrySet()) {
          for (long i = 0; i < e.getValue(); i++, index++) {
            loads[snake.getPartition(firstBatch + index / batchSize)] += e.getKey();
          }
        }
        firstBatch += (index + batchSize - 1) / batchSize;
      }
      return new Plan(snake, loads);
    }
    long[] tokens = new long[(int) batches];
    int at = 0;
    for (Map<Integer, Long> g : groups) {
      long[] own = batchTokens(g, batchSize);
      System.arraycopy(own, 0, tokens, at, own.length);
      at += own.length;
    }
    int[] assignment = assign(tokens, partitions);
    return new Plan(new Planned(assignment, partitions), loads(tokens, assignment, partitions));
  }

  /** Batch numbers to partitions by a stored longest-first plan. */
  static final class Planned extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int[] assignment;
    private final int partitions;

    Planned(int[] assignment, int partitions) {
      this.assignment = assignment;
      this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
      return partitions;
    }

    @Override
    public int getPartition(Object key) {
      long b = (Long) key;
      if (b < 0 || b >= assignment.length) {
        throw new IllegalArgumentException("Batch " + b + " is outside the plan of " + assignment.length
            + " batches: the corpus changed while calibrate ran");
      }
      return assignment[(int) b];
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Planned p && p.partitions == partitions && Arrays.equals(p.assignment, assignment);
    }

    @Override
    public int hashCode() {
      return 31 * partitions + Arrays.hashCode(assignment);
    }
  }

  /**
   * Batch numbers to partitions back and forth (0..P-1, then P-1..0, ...): for batches of growing length
   * the partitions stay within one batch of each other without storing a plan.
   */
  static final class Snake extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int partitions;

    Snake(int partitions) {
      this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
      return partitions;
    }

    @Override
    public int getPartition(Object key) {
      long b = (Long) key;
      int pos = (int) (b % partitions);
      return (b / partitions) % 2 == 0 ? pos : partitions - 1 - pos;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Snake s && s.partitions == partitions;
    }

    @Override
    public int hashCode() {
      return partitions;
    }
  }
}
