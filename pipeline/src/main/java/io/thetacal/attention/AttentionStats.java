package io.thetacal.attention;

import java.util.Arrays;

/**
 * Counts of what a forward pass kept, per layer: thresholded rows (n > k), their kept elements and
 * visible elements, all rows' elements, and V rows needed per KV group (the union of kept keys over the
 * group's query heads), and the exact distribution of kept elements over thresholded rows (row count per
 * kept value). Mergeable across batches.
 */
public final class AttentionStats {
  private final long[] rows;
  private final long[] elements;
  private final long[] keptElements;
  private final long[] thresholdedRows;
  private final long[] thresholdedElements;
  private final long[] thresholdedKept;
  private final long[] vRowsNeeded;
  private final long[] vRowsVisible;
  /** Per layer: thresholded rows by kept count, grown on demand. */
  private final long[][] keptRows;

  public AttentionStats(int numLayers) {
    rows = new long[numLayers];
    elements = new long[numLayers];
    keptElements = new long[numLayers];
    thresholdedRows = new long[numLayers];
    thresholdedElements = new long[numLayers];
    thresholdedKept = new long[numLayers];
    vRowsNeeded = new long[numLayers];
    vRowsVisible = new long[numLayers];
    keptRows = new long[numLayers][0];
  }

  public int numLayers() {
    return rows.length;
  }

  /** Records one row: n visible keys, kept of them, and whether the row was subject to pruning. */
  public void recordRow(int layer, int n, int kept, boolean thresholded) {
    rows[layer]++;
    elements[layer] += n;
    keptElements[layer] += kept;
    if (thresholded) {
      thresholdedRows[layer]++;
      thresholdedElements[layer] += n;
      thresholdedKept[layer] += kept;
      long[] c = keptRows[layer];
      if (kept >= c.length) {
        c = Arrays.copyOf(c, Math.max(kept + 1, 2 * c.length));
        keptRows[layer] = c;
      }
      c[kept]++;
    }
  }

  /** Records, for one KV group and one query position, how many of n visible V rows some head needed. */
  public void recordVRows(int layer, int needed, int visible) {
    vRowsNeeded[layer] += needed;
    vRowsVisible[layer] += visible;
  }

  public void merge(AttentionStats other) {
    if (other.numLayers() != numLayers()) {
      throw new IllegalArgumentException("cannot merge stats of " + other.numLayers()
          + " layers into stats of " + numLayers() + " layers");
    }
    for (int l = 0; l < rows.length; l++) {
      rows[l] += other.rows[l];
      elements[l] += other.elements[l];
      keptElements[l] += other.keptElements[l];
      thresholdedRows[l] += other.thresholdedRows[l];
      thresholdedElements[l] += other.thresholdedElements[l];
      thresholdedKept[l] += other.thresholdedKept[l];
      vRowsNeeded[l] += other.vRowsNeeded[l];
      vRowsVisible[l] += other.vRowsVisible[l];
      long[] o = other.keptRows[l];
      if (o.length > keptRows[l].length) {
        keptRows[l] = Arrays.copyOf(keptRows[l], o.length);
      }
      for (int v = 0; v < o.length; v++) {
        keptRows[l][v] += o[v];
      }
    }
  }

  public long rows(int layer) {
    return rows[layer];
  }

  public long elements(int layer) {
    return elements[layer];
  }

  public long keptElements(int layer) {
    return keptElements[layer];
  }

  public long thresholdedRows(int layer) {
    return thresholdedRows[layer];
  }

  public long thresholdedElements(int layer) {
    return thresholdedElements[layer];
  }

  public long thresholdedKept(int layer) {
    return thresholdedKept[layer];
  }

  /**
   * Thresholded rows of a layer by kept count: element v is the number of rows that kept v elements (the
   * array ends at the largest count seen; a copy).
   */
  public long[] keptRowCounts(int layer) {
    return keptRows[layer].clone();
  }

  public long vRowsNeeded(int layer) {
    return vRowsNeeded[layer];
  }

  public long vRowsVisible(int layer) {
    return vRowsVisible[layer];
  }

  /** Mean kept elements per thresholded row of a layer; NaN when no row was thresholded. */
  public double meanKeptPerThresholdedRow(int layer) {
    return thresholdedRows[layer] == 0 ? Double.NaN
        : (double) thresholdedKept[layer] / thresholdedRows[layer];
  }

  /** Σ kept / Σ n over all layers' thresholded rows; NaN when none. */
  public double keptFractionOfThresholded() {
    long kept = Arrays.stream(thresholdedKept).sum();
    long n = Arrays.stream(thresholdedElements).sum();
    return n == 0 ? Double.NaN : (double) kept / n;
  }

  /** Σ kept / Σ n over all rows of all layers. */
  public double keptFraction() {
    long kept = Arrays.stream(keptElements).sum();
    long n = Arrays.stream(elements).sum();
    return n == 0 ? Double.NaN : (double) kept / n;
  }

  /** Σ V rows needed / Σ V rows visible over all layers; NaN when not recorded. */
  public double vRowFraction() {
    long need = Arrays.stream(vRowsNeeded).sum();
    long vis = Arrays.stream(vRowsVisible).sum();
    return vis == 0 ? Double.NaN : (double) need / vis;
  }
}
