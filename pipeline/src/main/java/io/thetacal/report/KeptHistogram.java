package io.thetacal.report;

import io.thetacal.attention.AttentionStats;
import java.util.Arrays;

/**
 * Exact distribution of kept elements per thresholded row, per layer: an integer histogram (row count
 * for every kept value). Unlike the sums in {@link io.thetacal.attention.AttentionStats} it gives exact
 * percentiles, and unlike a sketch it is deterministic; it stays small because kept counts are bounded
 * by the longest row. Mergeable across batches and partitions. Not thread-safe.
 */
public final class KeptHistogram {
  private final long[][] counts;

  public KeptHistogram(int numLayers) {
    if (numLayers <= 0) {
      throw new IllegalArgumentException("'numLayers' is set to " + numLayers + " but must be > 0");
    }
    counts = new long[numLayers][];
    for (int l = 0; l < numLayers; l++) {
      counts[l] = new long[16];
    }
  }

  public int numLayers() {
    return counts.length;
  }

  /** Records one thresholded row of {@code layer} that kept {@code kept} elements. */
  public void record(int layer, int kept) {
    checkLayer(layer);
    if (kept < 0) {
      throw new IllegalArgumentException("'kept' is set to " + kept + " but must be >= 0");
    }
    long[] c = counts[layer];
    if (kept >= c.length) {
      c = Arrays.copyOf(c, Math.max(kept + 1, c.length * 2));
      counts[layer] = c;
    }
    c[kept]++;
  }

  /** Adds the thresholded rows a forward pass counted ({@link AttentionStats#keptRowCounts}). */
  public void add(AttentionStats stats) {
    if (stats.numLayers() != numLayers()) {
      throw new IllegalArgumentException("cannot add attention stats of " + stats.numLayers()
          + " layers into a kept histogram of " + numLayers() + " layers");
    }
    for (int l = 0; l < counts.length; l++) {
      long[] o = stats.keptRowCounts(l);
      if (o.length > counts[l].length) {
        counts[l] = Arrays.copyOf(counts[l], o.length);
      }
      for (int v = 0; v < o.length; v++) {
        counts[l][v] += o[v];
      }
    }
  }

  /** Adds another histogram's rows into this one. */
  public void merge(KeptHistogram other) {
    if (other.numLayers() != numLayers()) {
      throw new IllegalArgumentException("cannot merge a kept histogram of " + other.numLayers()
          + " layers into one of " + numLayers() + " layers");
    }
    for (int l = 0; l < counts.length; l++) {
      long[] o = other.counts[l];
      if (o.length > counts[l].length) {
        counts[l] = Arrays.copyOf(counts[l], o.length);
      }
      for (int v = 0; v < o.length; v++) {
        counts[l][v] += o[v];
      }
    }
  }

  /** Rows recorded for one layer. */
  public long rows(int layer) {
    checkLayer(layer);
    return Arrays.stream(counts[layer]).sum();
  }

  /** Rows recorded over all layers. */
  public long rows() {
    long r = 0;
    for (int l = 0; l < counts.length; l++) {
      r += rows(l);
    }
    return r;
  }

  /** Rows of {@code layer} that kept exactly {@code kept} elements. */
  public long count(int layer, int kept) {
    checkLayer(layer);
    long[] c = counts[layer];
    return kept >= 0 && kept < c.length ? c[kept] : 0;
  }

  /** Mean kept per row of one layer; NaN when the layer has no row. */
  public double mean(int layer) {
    checkLayer(layer);
    return mean(new int[] {layer});
  }

  /** Mean kept per row over all layers' rows; NaN when there is none. */
  public double mean() {
    return mean(allLayers());
  }

  /**
   * The q-quantile of kept per row of one layer by the nearest-rank rule: the smallest recorded value v
   * such that at least ⌈q·N⌉ of the N rows kept ≤ v (q = 0 gives the minimum). NaN when there is no row.
   */
  public double quantile(int layer, double q) {
    checkLayer(layer);
    return quantile(new int[] {layer}, q);
  }

  /** The nearest-rank q-quantile over all layers' rows, see {@link #quantile(int, double)}. */
  public double quantile(double q) {
    return quantile(allLayers(), q);
  }

  /** Kept/k statistics of these rows for a target {@code k}. */
  public KeptStats keptOverK(int k) {
    if (k <= 0) {
      throw new IllegalArgumentException("'k' is set to " + k + " but must be > 0");
    }
    Double[] perLayer = new Double[counts.length];
    for (int l = 0; l < counts.length; l++) {
      perLayer[l] = mean(l) / k;
    }
    return new KeptStats(rows(), mean() / k, quantile(0.05) / k, quantile(0.95) / k,
        Arrays.asList(perLayer));
  }

  private double mean(int[] layers) {
    double sum = 0;
    long n = 0;
    for (int l : layers) {
      long[] c = counts[l];
      for (int v = 0; v < c.length; v++) {
        sum += (double) v * c[v];
        n += c[v];
      }
    }
    return n == 0 ? Double.NaN : sum / n;
  }

  private double quantile(int[] layers, double q) {
    if (!(q >= 0 && q <= 1)) {
      throw new IllegalArgumentException("'q' is set to " + q + " but must be in [0, 1]");
    }
    int maxLen = 0;
    long n = 0;
    for (int l : layers) {
      maxLen = Math.max(maxLen, counts[l].length);
      n += Arrays.stream(counts[l]).sum();
    }
    if (n == 0) {
      return Double.NaN;
    }
    long rank = Math.max(1, (long) Math.ceil(q * n));
    long seen = 0;
    for (int v = 0; v < maxLen; v++) {
      for (int l : layers) {
        if (v < counts[l].length) {
          seen += counts[l][v];
        }
      }
      if (seen >= rank) {
        return v;
      }
    }
    throw new IllegalStateException("unreachable: rank " + rank + " beyond " + n + " rows");
  }

  private int[] allLayers() {
    int[] all = new int[counts.length];
    Arrays.setAll(all, i -> i);
    return all;
  }

  private void checkLayer(int layer) {
    if (layer < 0 || layer >= counts.length) {
      throw new IllegalArgumentException(
          "'layer' is set to " + layer + " but must be in [0, " + counts.length + ")");
    }
  }
}
