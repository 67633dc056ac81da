package io.thetacal.calibration;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionStats;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.TransformerModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The in-domain check of calibrated thresholds: run Top-θ forwards over held-out rows of the calibration
 * dataset (one forward per k) and compare the mean kept elements per thresholded row with k, per layer.
 * Calibration targets k on average, so the ratio should be within 1 ± tolerance.
 */
public final class HoldoutCheck {
  public static final double TOLERANCE_DEFAULT = 0.10;

  private HoldoutCheck() {
  }

  /**
   * The kept counts of one batch of held-out sequences: one Top-θ forward per k of the table's grid.
   * Counts of batches merge exactly ({@link AttentionStats#merge}), so the batches can be measured anywhere
   * (on executors) and in any order.
   */
  public static Map<Integer, AttentionStats> measure(TransformerModel model, ThresholdTable table,
      List<int[]> batch) {
    Map<Integer, AttentionStats> byK = new TreeMap<>();
    for (int k : table.kGrid()) {
      byK.put(k, model.forward(ForwardRequest.attentionOnly(batch, AttentionMode.topTheta(table, k), null))
          .stats());
    }
    return byK;
  }

  /** Merges the second batch's counts into the first's, k by k; returns the first. */
  public static Map<Integer, AttentionStats> merge(Map<Integer, AttentionStats> into,
      Map<Integer, AttentionStats> other) {
    if (!into.keySet().equals(other.keySet())) {
      throw new IllegalArgumentException("cannot merge kept counts for k " + other.keySet() + " into counts"
          + " for k " + into.keySet());
    }
    other.forEach((k, s) -> into.get(k).merge(s));
    return into;
  }

  /**
   * One (layer, k) figure.
   *
   * @param layer layer
   * @param k target kept elements per row
   * @param thresholdedRows held-out rows with n > k
   * @param meanKept mean kept elements per thresholded row (NaN without thresholded rows)
   * @param ratio meanKept / k
   * @param within whether rows were measured and |ratio − 1| <= tolerance
   */
  public record Entry(int layer, int k, long thresholdedRows, double meanKept, double ratio,
      boolean within) {
  }

  /**
   * The verdict of one k over all layers.
   *
   * @param k target kept elements per row
   * @param measured whether any held-out row had n > k (rows with n <= k keep everything and are not
   *     thresholded, so a k at least as long as every held-out row cannot be measured)
   * @param status "within", "outside" (some layer leaves 1 ± tolerance), or "not measurable: ..." with
   *     the reason
   */
  public record KVerdict(int k, boolean measured, String status) {
  }

  /**
   * The figures of all layers and k.
   *
   * @param tolerance the allowed |ratio − 1|
   * @param entries per (layer, k), ordered by k then layer
   * @param ks per k, whether it was measured and its verdict, ordered by k
   */
  public record Result(double tolerance, List<Entry> entries, List<KVerdict> ks) {
    public Result {
      entries = List.copyOf(entries);
      ks = ks == null ? verdicts(entries) : List.copyOf(ks);
    }

    /** A result whose per-k verdicts are derived from the entries. */
    public Result(double tolerance, List<Entry> entries) {
      this(tolerance, entries, null);
    }

    private static List<KVerdict> verdicts(List<Entry> entries) {
      Map<Integer, List<Entry>> byK = new TreeMap<>();
      for (Entry e : entries) {
        byK.computeIfAbsent(e.k(), x -> new ArrayList<>()).add(e);
      }
      List<KVerdict> out = new ArrayList<>();
      for (Map.Entry<Integer, List<Entry>> e : byK.entrySet()) {
        boolean measured = e.getValue().stream().anyMatch(x -> x.thresholdedRows() > 0);
        String status = !measured ? "not measurable: no held-out row has more than " + e.getKey()
            + " keys (rows with n <= k are never thresholded); calibrate and check on longer sequences"
            : e.getValue().stream().allMatch(Entry::within) ? "within" : "outside";
        out.add(new KVerdict(e.getKey(), measured, status));
      }
      return out;
    }

    /** True when at least one (layer, k) was measured and every measured one is within tolerance. */
    public boolean allWithin() {
      return entries.stream().anyMatch(e -> e.thresholdedRows() > 0)
          && entries.stream().filter(e -> e.thresholdedRows() > 0).allMatch(Entry::within);
    }

    /** (layer, k) pairs without any thresholded held-out row. */
    public long unmeasured() {
      return entries.stream().filter(e -> e.thresholdedRows() == 0).count();
    }

    /** The largest |ratio − 1| over measured entries; NaN when none was measured. */
    public double worstDeviation() {
      return entries.stream().filter(e -> e.thresholdedRows() > 0)
          .mapToDouble(e -> Math.abs(e.ratio() - 1)).max().orElse(Double.NaN);
    }
  }

  /** The check with the default tolerance of ±{@value #TOLERANCE_DEFAULT}. */
  public static Result evaluate(Map<Integer, AttentionStats> statsByK) {
    return evaluate(statsByK, TOLERANCE_DEFAULT);
  }

  /**
   * @param statsByK the stats of one Top-θ forward pass over the holdout rows per target k
   * @param tolerance allowed |mean kept / k − 1|, in [0, 1]
   */
  public static Result evaluate(Map<Integer, AttentionStats> statsByK, double tolerance) {
    if (!(tolerance >= 0 && tolerance <= 1)) {
      throw new IllegalArgumentException(
          "'holdout.tolerance' is set to " + tolerance + " but must be in [0, 1]");
    }
    if (statsByK.isEmpty()) {
      throw new IllegalArgumentException("no holdout statistics: run at least one Top-θ forward");
    }
    List<Entry> out = new ArrayList<>();
    for (Map.Entry<Integer, AttentionStats> e : new TreeMap<>(statsByK).entrySet()) {
      int k = e.getKey();
      if (k <= 0) {
        throw new IllegalArgumentException("holdout statistics for k = " + k + " but k must be > 0");
      }
      AttentionStats s = e.getValue();
      for (int l = 0; l < s.numLayers(); l++) {
        long rows = s.thresholdedRows(l);
        double mean = s.meanKeptPerThresholdedRow(l);
        double ratio = mean / k;
        out.add(new Entry(l, k, rows, mean, ratio, rows > 0 && Math.abs(ratio - 1) <= tolerance));
      }
    }
    return new Result(tolerance, out);
  }
}
