package io.thetacal.report;

import io.thetacal.attention.Placement;
import io.thetacal.attention.ThresholdLookup;
import java.util.Arrays;
import java.util.Objects;

/**
 * θ against row length for one head of one threshold table: what the calibration learned, read back
 * through {@link ThresholdLookup} (so lengths the table resolves to a neighbour show as flat steps).
 *
 * @param lengths row lengths n, increasing
 * @param thresholds θ(layer, head, n, k) for each length
 */
public record ThresholdCurve(String calibrationDataset, Placement placement, int k, int layer,
    int head, int[] lengths, float[] thresholds) {

  public ThresholdCurve {
    Objects.requireNonNull(calibrationDataset, "calibrationDataset");
    Objects.requireNonNull(placement, "placement");
    if (lengths.length != thresholds.length) {
      throw new IllegalArgumentException("a threshold curve needs one threshold per length but has "
          + lengths.length + " lengths and " + thresholds.length + " thresholds");
    }
    lengths = lengths.clone();
    thresholds = thresholds.clone();
  }

  /** Reads θ for lengths k+1, k+1+step, … up to maxLength (rows with n ≤ k are never thresholded). */
  public static ThresholdCurve sample(String calibrationDataset, ThresholdLookup table, int k,
      int layer, int head, int maxLength, int step) {
    if (step <= 0) {
      throw new IllegalArgumentException("'step' is set to " + step + " but must be > 0");
    }
    if (maxLength <= k) {
      throw new IllegalArgumentException(
          "'maxLength' is set to " + maxLength + " but must be > k (" + k + ")");
    }
    int count = (maxLength - (k + 1)) / step + 1;
    int[] n = new int[count];
    float[] t = new float[count];
    for (int i = 0; i < count; i++) {
      n[i] = k + 1 + i * step;
      t[i] = table.threshold(layer, head, n[i], k);
    }
    return new ThresholdCurve(calibrationDataset, table.placement(), k, layer, head, n, t);
  }

  public String label() {
    return "L" + layer + ".H" + head + " (" + calibrationDataset + ", k=" + k + ")";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ThresholdCurve c && c.calibrationDataset.equals(calibrationDataset)
        && c.placement == placement && c.k == k && c.layer == layer && c.head == head
        && Arrays.equals(c.lengths, lengths) && Arrays.equals(c.thresholds, thresholds);
  }

  @Override
  public int hashCode() {
    return Objects.hash(calibrationDataset, placement, k, layer, head, Arrays.hashCode(lengths),
        Arrays.hashCode(thresholds));
  }

  @Override
  public String toString() {
    return "ThresholdCurve[" + label() + ", " + placement + ", " + lengths.length + " points]";
  }
}
