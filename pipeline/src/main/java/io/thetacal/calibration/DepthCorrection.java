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

  /** Sample sequences per forward pass of the fit: a sequence's passes depend on its batch in the last bits. */
  public static final int BATCH = 8;

  /**
   * Measures one round: the {@link Margins} of every batch of the sample under the given (shifted) table,
   * merged. The driver runs them itself ({@link #fit(TransformerModel, ThresholdTable, List)}); a Spark job
   * hands the batches to executors. Either way the counts are the same: each batch is measured whole and
   * counts add exactly.
   */
  @FunctionalInterface
  public interface Measurer {
    Margins measure(ThresholdTable shifted) throws java.io.IOException;
  }

  /**
   * Fits the shifts of a table on a sample, on this thread: runs Top-θ with the table (shifted by the rounds
   * so far) in every layer and, per layer and k, finds the margin above θ that the sample's thresholded rows
   * (n > k) exceed k times per row on average.
   *
   * @param sample token ids of calibration sequences; empty gives zero shifts
   */
  public static DepthCorrection fit(TransformerModel model, ThresholdTable table, List<int[]> sample) {
    List<List<int[]>> batches = batches(sample);
    try {
      return fit(table, sample.size(), shifted -> {
        Margins all = new Margins(table.kGrid().length, table.geometry().numLayers());
        for (List<int[]> batch : batches) {
          all.merge(Margins.measure(model, shifted, batch));
        }
        return all;
      });
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Fits the shifts of a table with a measurer of the rounds (see {@link Measurer}).
   *
   * @param sequences sequences in the sample the measurer measures; 0 gives zero shifts
   */
  public static DepthCorrection fit(ThresholdTable table, int sequences, Measurer measurer)
      throws java.io.IOException {
    int[] ks = table.kGrid();
    int layers = table.geometry().numLayers();
    double[][] shifts = new double[ks.length][layers];
    for (int it = 0; it < ITERATIONS && sequences > 0; it++) {
      Margins m = measurer.measure(table.shifted(shifts));
      for (int ki = 0; ki < ks.length; ki++) {
        for (int l = 0; l < layers; l++) {
          long rows = m.rows(ki, l);
          shifts[ki][l] += rows == 0 ? 0 : marginKeeping(m.histogram(ki, l), (long) ks[ki] * rows);
        }
      }
    }
    return new DepthCorrection(sequences, sequences == 0 ? 0 : ITERATIONS,
        Arrays.stream(ks).boxed().toList(), shifts);
  }

  /** The sample cut into consecutive batches of {@value #BATCH}, in order. */
  public static List<List<int[]>> batches(List<int[]> sample) {
    // plain ArrayLists: Spark's Kryo serializer rebuilds lists by adding to them
    List<List<int[]>> out = new java.util.ArrayList<>();
    for (int i = 0; i < sample.size(); i += BATCH) {
      out.add(new java.util.ArrayList<>(sample.subList(i, Math.min(sample.size(), i + BATCH))));
    }
    return out;
  }

  /**
   * Per k and layer, the thresholded rows (n > k) of one fitting round and their elements' margins over
   * θ (pre-softmax a_j − θ, post-softmax ln p_j − ln θ) in integer histograms of 1/{@value #BINS_PER_UNIT}
   * wide bins over ±{@value #HALF_RANGE}, with an under- and an overflow slot. Mergeable: merge adds the
   * counts, so it is associative and commutative and merging the Margins of parts equals measuring the
   * whole.
   */
  public static final class Margins implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final int numK;
    private final int layers;
    private final long[] rows;
    private final long[] counts;

    /** Empty margins for a k grid of numK values and a model of this many layers. */
    public Margins(int numK, int layers) {
      this.numK = numK;
      this.layers = layers;
      this.rows = new long[numK * layers];
      this.counts = new long[Math.multiplyExact(numK * layers, BINS + 2)];
    }

    /** Runs Top-θ with the table for every k of its grid over one batch and counts its margins. */
    public static Margins measure(TransformerModel model, ThresholdTable table, List<int[]> batch) {
      int[] ks = table.kGrid();
      int layers = table.geometry().numLayers();
      boolean pre = table.placement() == Placement.PRE_SOFTMAX;
      Margins m = new Margins(ks.length, layers);
      for (int ki = 0; ki < ks.length; ki++) {
        int k = ks[ki];
        int kIndex = ki;
        AttentionObserver margins = row -> {
          int n = row.n();
          if (n <= k) {
            return;
          }
          int l = row.layer();
          float theta = table.threshold(l, row.head(), n, k);
          // a score's margin over θ; post-softmax ln p_j - ln θ, ln p_j = a_j - max - ln denominator
          double base = pre ? theta
              : (double) row.max() + StrictMath.log(row.denominator()) + StrictMath.log(theta);
          m.rows[kIndex * layers + l]++;
          float[] a = row.scores();
          int off = row.offset();
          int h = (kIndex * layers + l) * (BINS + 2);
          for (int j = 0; j < n; j++) {
            double x = ((double) a[off + j] - base + HALF_RANGE) * BINS_PER_UNIT;
            m.counts[h + (x < 0 ? 0 : x >= BINS ? BINS + 1 : (int) x + 1)]++;
          }
        };
        model.forward(ForwardRequest.attentionOnly(batch, AttentionMode.topTheta(table, k), margins));
      }
      return m;
    }

    /** Adds other's counts into these. */
    public Margins merge(Margins other) {
      if (other.numK != numK || other.layers != layers) {
        throw new IllegalArgumentException("cannot merge margins of " + other.numK + " k values and "
            + other.layers + " layers into margins of " + numK + " and " + layers);
      }
      for (int i = 0; i < rows.length; i++) {
        rows[i] = Math.addExact(rows[i], other.rows[i]);
      }
      for (int i = 0; i < counts.length; i++) {
        counts[i] = Math.addExact(counts[i], other.counts[i]);
      }
      return this;
    }

    /** Thresholded rows of k index ki in a layer. */
    public long rows(int ki, int layer) {
      return rows[ki * layers + layer];
    }

    /** The margin histogram of k index ki in a layer (a copy). */
    public long[] histogram(int ki, int layer) {
      int h = (ki * layers + layer) * (BINS + 2);
      return Arrays.copyOfRange(counts, h, h + BINS + 2);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Margins m && numK == m.numK && layers == m.layers && Arrays.equals(rows, m.rows)
          && Arrays.equals(counts, m.counts);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(rows) * 31 + Arrays.hashCode(counts);
    }
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
