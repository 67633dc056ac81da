package io.thetacal.calibration;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.Placement;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.TransformerModel;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A shift of every threshold of one layer and k, fitted with Top-θ deployed in every layer on a sample of
 * calibration sequences, so that each layer keeps k elements per row on average once the layers before
 * it are thresholded too. Top-k at calibration gives earlier layers exactly k per row; deployed Top-θ
 * keeps a count that varies from row to row, and the difference compounds with depth (deeper layers
 * keep more than k, see docs/calibration.md). Pre-softmax θ becomes θ + shift, post-softmax θ·e^shift.
 *
 * <p>The fit depends only on the table and the sample, so a refresh that merges the same state and draws
 * the same sample publishes the same thresholds as a full calibration.
 *
 * @param sequences sequences in the sample the shifts were fitted on
 * @param iterations fitting rounds (each re-measures with the shifts of the rounds before)
 * @param kGrid the table's k grid
 * @param shifts shifts[kIndex][layer]: added to pre-softmax θ (score units), or to ln θ post-softmax
 */
public record DepthCorrection(int sequences, int iterations, List<Integer> kGrid, double[][] shifts) {

  /** Fitting rounds: the second measures what the first one's shifts of earlier layers changed. */
  public static final int ITERATIONS = 2;

  private static final int BINS_PER_UNIT = 1024;
  private static final int HALF_RANGE = 8;
  private static final int BINS = 2 * HALF_RANGE * BINS_PER_UNIT;

  public DepthCorrection {
    kGrid = List.copyOf(kGrid);
    Objects.requireNonNull(shifts, "shifts");
    if (shifts.length != kGrid.size()) {
      throw new IllegalArgumentException("'shifts' has " + shifts.length + " rows but the k grid "
          + kGrid + " has " + kGrid.size() + " entries");
    }
    shifts = Arrays.stream(shifts).map(double[]::clone).toArray(double[][]::new);
  }

  /**
   * Fits the shifts of a table on a sample: runs Top-θ with the table (shifted by the rounds so far) in
   * every layer and, per layer and k, finds the margin above θ that the sample's thresholded rows
   * (n > k) exceed k times per row on average.
   *
   * @param sample token ids of calibration sequences; empty gives zero shifts
   */
  public static DepthCorrection fit(TransformerModel model, ThresholdTable table, List<int[]> sample) {
    int[] ks = table.kGrid();
    int layers = table.geometry().numLayers();
    double[][] shifts = new double[ks.length][layers];
    boolean pre = table.placement() == Placement.PRE_SOFTMAX;
    for (int it = 0; it < ITERATIONS && !sample.isEmpty(); it++) {
      ThresholdTable shifted = table.shifted(shifts);
      for (int ki = 0; ki < ks.length; ki++) {
        int k = ks[ki];
        long[][] hist = new long[layers][BINS + 2];
        long[] rows = new long[layers];
        AttentionObserver margins = row -> {
          int n = row.n();
          if (n <= k) {
            return;
          }
          int l = row.layer();
          float theta = shifted.threshold(l, row.head(), n, k);
          // a score's margin over θ; post-softmax ln p_j - ln θ, ln p_j = a_j - max - ln denominator
          double base = pre ? theta
              : (double) row.max() + StrictMath.log(row.denominator()) + StrictMath.log(theta);
          rows[l]++;
          float[] a = row.scores();
          int off = row.offset();
          long[] h = hist[l];
          for (int j = 0; j < n; j++) {
            double x = ((double) a[off + j] - base + HALF_RANGE) * BINS_PER_UNIT;
            h[x < 0 ? 0 : x >= BINS ? BINS + 1 : (int) x + 1]++;
          }
        };
        model.forward(new ForwardRequest(sample, AttentionMode.topTheta(shifted, k), margins, false,
            false));
        for (int l = 0; l < layers; l++) {
          shifts[ki][l] += rows[l] == 0 ? 0 : marginKeeping(hist[l], (long) k * rows[l]);
        }
      }
    }
    return new DepthCorrection(sample.size(), sample.isEmpty() ? 0 : ITERATIONS,
        Arrays.stream(ks).boxed().toList(), shifts);
  }

  /**
   * The margin that {@code target} of the histogram's margins exceed, linear within the bin it falls in
   * (the histogram's bins are 1/{@value #BINS_PER_UNIT} wide over ±{@value #HALF_RANGE}, with an under-
   * and an overflow slot).
   */
  static double marginKeeping(long[] hist, long target) {
    long above = 0;
    for (int bin = BINS + 1; bin >= 1; bin--) {
      if (above + hist[bin] >= target) {
        double frac = (double) (target - above) / hist[bin];
        return (bin - frac) / BINS_PER_UNIT - HALF_RANGE;
      }
      above += hist[bin];
    }
    return -HALF_RANGE;
  }

  /** The table with these shifts applied ({@link ThresholdTable#shifted}). */
  public ThresholdTable apply(ThresholdTable table) {
    if (!kGrid.equals(Arrays.stream(table.kGrid()).boxed().toList())) {
      throw new IllegalArgumentException("the correction was fitted for k grid " + kGrid
          + " but the table has " + Arrays.toString(table.kGrid()));
    }
    return table.shifted(shifts);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DepthCorrection c && sequences == c.sequences && iterations == c.iterations
        && kGrid.equals(c.kGrid) && Arrays.deepEquals(shifts, c.shifts);
  }

  @Override
  public int hashCode() {
    return Objects.hash(sequences, iterations, kGrid, Arrays.deepHashCode(shifts));
  }

  @Override
  public String toString() {
    return "DepthCorrection[sequences=" + sequences + ", iterations=" + iterations + ", kGrid=" + kGrid
        + ", shifts=" + Arrays.deepToString(shifts) + "]";
  }
}
