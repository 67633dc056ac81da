package io.thetacal.attention;

import java.util.Arrays;

/**
 * Counts of what a forward pass kept, per layer: thresholded rows (n > k), their kept elements and
 * visible elements, all rows' elements, and V rows needed per KV group (the union of kept keys over the
 * group's query heads), and the exact distribution of kept elements over thresholded rows (row count per
 * kept value); and per (layer, query head) the thresholded rows, their kept and visible elements, so that
 * per-head kept counts come from the kernel's own decision rather than a second copy of the keep rule.
 * Mergeable across batches.
 */
public final class AttentionStats implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
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
  /** Per layer, per query head (grown on demand): thresholded rows, their kept and visible elements. */
  private final long[][] headRows;
  private final long[][] headKept;
  private final long[][] headElements;

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
    headRows = new long[numLayers][0];
    headKept = new long[numLayers][0];
    headElements = new long[numLayers][0];
  }

  public int numLayers() {
    return rows.length;
  }

  /**
   * Records one row of a query head: n visible keys, kept of them, and whether the row was subject to
   * pruning.
   */
  public void recordRow(int layer, int head, int n, int kept, boolean thresholded) {
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
      if (head >= headRows[layer].length) {
        int size = Math.max(head + 1, 2 * headRows[layer].length);
        headRows[layer] = Arrays.copyOf(headRows[layer], size);
        headKept[layer] = Arrays.copyOf(headKept[layer], size);
        headElements[layer] = Arrays.copyOf(headElements[layer], size);
      }
      headRows[layer][head]++;
      headKept[layer][head] += kept;
      headElements[layer][head] += n;
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
      int heads = other.headRows[l].length;
      if (heads > headRows[l].length) {
        headRows[l] = Arrays.copyOf(headRows[l], heads);
        headKept[l] = Arrays.copyOf(headKept[l], heads);
        headElements[l] = Arrays.copyOf(headElements[l], heads);
      }
      for (int h = 0; h < heads; h++) {
        headRows[l][h] += other.headRows[l][h];
        headKept[l][h] += other.headKept[l][h];
        headElements[l][h] += other.headElements[l][h];
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

  /** Thresholded rows of one query head of a layer (0 for a head that recorded none). */
  public long thresholdedRows(int layer, int head) {
    return head < headRows[layer].length ? headRows[layer][head] : 0;
  }

  /** Kept elements of one query head's thresholded rows. */
  public long thresholdedKept(int layer, int head) {
    return head < headKept[layer].length ? headKept[layer][head] : 0;
  }

  /** Visible elements of one query head's thresholded rows. */
  public long thresholdedElements(int layer, int head) {
    return head < headElements[layer].length ? headElements[layer][head] : 0;
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
