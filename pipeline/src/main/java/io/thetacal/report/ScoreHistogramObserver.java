package io.thetacal.report;

import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionRow;
import io.thetacal.calibration.Drift;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Bins the pre-softmax scores of a forward pass per (layer, head) over the bin edges of reference
 * histograms (those of the calibration data), so that the two can be compared by {@link Drift}. Heads
 * without a reference histogram are not binned. One instance may collect over many forward passes run
 * one after another; like every observer it is not thread-safe, and it forks (counts add up) so that an
 * engine can bin rows on several threads.
 */
public final class ScoreHistogramObserver implements AttentionObserver {
  private final Map<Long, double[]> edges = new HashMap<>();
  private final Map<Long, long[]> counts = new HashMap<>();
  private final List<HeadHistogram> reference;
  /** The same edges and counts by [layer][head] (null where no reference): no map lookup per row. */
  private final double[][][] edgesByHead;
  private final long[][][] countsByHead;

  public ScoreHistogramObserver(List<HeadHistogram> reference) {
    this.reference = List.copyOf(reference);
    for (HeadHistogram h : this.reference) {
      long key = key(h.layer(), h.head());
      if (edges.put(key, h.edges()) != null) {
        throw new IllegalArgumentException(
            "two reference histograms for head L" + h.layer() + ".H" + h.head());
      }
      counts.put(key, new long[h.edges().length - 1]);
    }
    int layers = this.reference.stream().mapToInt(HeadHistogram::layer).max().orElse(-1) + 1;
    int heads = this.reference.stream().mapToInt(HeadHistogram::head).max().orElse(-1) + 1;
    edgesByHead = new double[layers][heads][];
    countsByHead = new long[layers][heads][];
    for (HeadHistogram h : this.reference) {
      long key = key(h.layer(), h.head());
      edgesByHead[h.layer()][h.head()] = edges.get(key);
      countsByHead[h.layer()][h.head()] = counts.get(key);
    }
  }

  @Override
  public void onRow(AttentionRow row) {
    int layer = row.layer();
    int head = row.head();
    if (layer >= edgesByHead.length || head >= edgesByHead[layer].length) {
      return;
    }
    double[] e = edgesByHead[layer][head];
    if (e == null) {
      return;
    }
    long[] c = countsByHead[layer][head];
    float[] a = row.scores();
    int off = row.offset();
    for (int j = 0; j < row.n(); j++) {
      c[HeadHistogram.binOf(e, a[off + j])]++;
    }
  }

  /** An empty observer over the same reference, for rows seen on another thread; {@link #join} adds it. */
  @Override
  public AttentionObserver fork() {
    return new ScoreHistogramObserver(reference);
  }

  @Override
  public void join(AttentionObserver forked) {
    if (!(forked instanceof ScoreHistogramObserver f) || !f.reference.equals(reference)) {
      throw new IllegalArgumentException("not a fork of this observer: " + forked);
    }
    for (Map.Entry<Long, long[]> e : counts.entrySet()) {
      long[] into = e.getValue();
      long[] from = f.counts.get(e.getKey());
      for (int i = 0; i < into.length; i++) {
        into[i] += from[i];
      }
    }
  }

  /** What was collected, one histogram per reference head, over the reference's edges. */
  public List<HeadHistogram> collected() {
    List<HeadHistogram> out = new ArrayList<>(reference.size());
    for (HeadHistogram h : reference) {
      long key = key(h.layer(), h.head());
      out.add(new HeadHistogram(h.layer(), h.head(), edges.get(key), counts.get(key)));
    }
    return out;
  }

  /**
   * Wasserstein-1 between each reference histogram and what was collected for that head; heads that
   * saw no score (or whose reference is empty) are left out.
   */
  public List<HeadDrift> drift(String calibrationDataset, String evaluationDataset) {
    List<HeadDrift> out = new ArrayList<>();
    for (HeadHistogram h : reference) {
      long[] c = counts.get(key(h.layer(), h.head()));
      if (h.total() > 0 && java.util.Arrays.stream(c).sum() > 0) {
        out.add(new HeadDrift(calibrationDataset, evaluationDataset, h.layer(), h.head(),
            Drift.wasserstein1(h.edges(), h.counts(), c)));
      }
    }
    return out;
  }

  private static long key(int layer, int head) {
    return ((long) layer << 32) | (head & 0xffffffffL);
  }
}
