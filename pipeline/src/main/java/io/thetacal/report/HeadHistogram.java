package io.thetacal.report;

import io.thetacal.calibration.ScoreHistogram;
import java.util.Arrays;
import java.util.Objects;

/**
 * A histogram of one head's pre-softmax scores over fixed bin edges: bins [edges[i], edges[i+1]), the
 * last bin closed; scores outside the edges are counted in the first or last bin. Calibration stores one
 * per (layer, head); the report bins evaluation scores over the same edges to measure drift.
 */
public record HeadHistogram(int layer, int head, double[] edges, long[] counts) {

  public HeadHistogram {
    Objects.requireNonNull(edges, "edges");
    Objects.requireNonNull(counts, "counts");
    if (edges.length < 2) {
      throw new IllegalArgumentException("head L" + layer + ".H" + head
          + ": histogram edges must hold at least 2 values but hold " + edges.length);
    }
    for (int i = 0; i < edges.length; i++) {
      if (!Double.isFinite(edges[i]) || (i > 0 && !(edges[i] > edges[i - 1]))) {
        throw new IllegalArgumentException("head L" + layer + ".H" + head + ": histogram edge " + i
            + " is " + edges[i] + " but edges must be finite and strictly increasing");
      }
    }
    if (counts.length != edges.length - 1) {
      throw new IllegalArgumentException("head L" + layer + ".H" + head + ": histogram has "
          + counts.length + " counts but its edges define " + (edges.length - 1) + " bins");
    }
    edges = edges.clone();
    counts = counts.clone();
  }

  /** An empty histogram over the given edges. */
  public static HeadHistogram empty(int layer, int head, double[] edges) {
    return new HeadHistogram(layer, head, edges, new long[Math.max(0, edges.length - 1)]);
  }

  /**
   * From equal-width counts between {@code min} and {@code max} framed by an underflow slot (first) and
   * an overflow slot (last), the layout calibration histograms use: the two open slots become bins one
   * bin width wide just outside [min, max], so the drift of mass that left the range is still counted
   * (as having moved by about one bin).
   *
   * @param slots underflow, equal-width bins, overflow
   */
  public static HeadHistogram withOpenEnds(int layer, int head, double min, double max, long[] slots) {
    if (slots.length < 3 || !(min < max)) {
      throw new IllegalArgumentException("head L" + layer + ".H" + head + ": a histogram with open ends"
          + " needs min < max and at least one bin between the underflow and overflow slots, got ["
          + min + ", " + max + ") with " + slots.length + " slots");
    }
    double[] edges = new ScoreHistogram(min, max, slots).edgesWithOpenEnds();
    return new HeadHistogram(layer, head, edges, slots);
  }

  /** The bin a value falls in, clamped to the first and last bin. */
  public static int binOf(double[] edges, double v) {
    int i = Arrays.binarySearch(edges, v);
    int bin = i >= 0 ? i : -i - 2;
    return Math.max(0, Math.min(edges.length - 2, bin));
  }

  public long total() {
    return Arrays.stream(counts).sum();
  }

  @Override
  public double[] edges() {
    return edges.clone();
  }

  @Override
  public long[] counts() {
    return counts.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HeadHistogram h && h.layer == layer && h.head == head
        && Arrays.equals(h.edges, edges) && Arrays.equals(h.counts, counts);
  }

  @Override
  public int hashCode() {
    return Objects.hash(layer, head, Arrays.hashCode(edges), Arrays.hashCode(counts));
  }

  @Override
  public String toString() {
    return "HeadHistogram[L" + layer + ".H" + head + ", " + counts.length + " bins, " + total()
        + " scores]";
  }
}
