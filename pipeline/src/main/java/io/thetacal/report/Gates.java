package io.thetacal.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Pass/fail criteria for report cells, with the paper's defaults.
 *
 * <ul>
 *   <li>kept/k: |mean kept/k − 1| ≤ {@code maxKeptDeviation} (default 0.2) for Top-θ cells: thresholds
 *       must deliver about the k they were calibrated for, also on a dataset they were not calibrated
 *       on. Top-k keeps exactly k by construction and always passes this gate. A cell where no row was
 *       longer than k has nothing to judge and fails.
 *   <li>quality: quality loss ≤ {@code maxQualityLoss} (default 0.01 = 1%), with the loss defined per
 *       family: decoders the relative NLL increase over dense ({@link DecoderQuality#loss}); encoders
 *       max(1 − mean cosine to dense, MRR drop of the paired retrieval) ({@link EncoderQuality#loss}).
 * </ul>
 *
 * @param maxKeptDeviation bound on |mean kept/k − 1|
 * @param maxQualityLoss bound on the quality loss, as a fraction
 */
public record Gates(double maxKeptDeviation, double maxQualityLoss) {
  public static final double MAX_KEPT_DEVIATION_DEFAULT = 0.2;
  public static final double MAX_QUALITY_LOSS_DEFAULT = 0.01;

  public Gates {
    if (!(maxKeptDeviation > 0) || Double.isInfinite(maxKeptDeviation)) {
      throw new IllegalArgumentException(
          "'maxKeptDeviation' is set to " + maxKeptDeviation + " but must be a finite number > 0");
    }
    if (!(maxQualityLoss >= 0) || Double.isInfinite(maxQualityLoss)) {
      throw new IllegalArgumentException(
          "'maxQualityLoss' is set to " + maxQualityLoss + " but must be a finite number >= 0");
    }
  }

  public static Gates defaults() {
    return new Gates(MAX_KEPT_DEVIATION_DEFAULT, MAX_QUALITY_LOSS_DEFAULT);
  }

  /** Every gate's outcome for one cell. */
  public Verdict judge(ReportCell cell) {
    List<GateResult> out = new ArrayList<>(2);
    out.add(keptGate(cell));
    out.add(qualityGate(cell));
    return new Verdict(out);
  }

  /** The cells with their verdicts set. */
  public List<ReportCell> judgeAll(List<ReportCell> cells) {
    return cells.stream().map(c -> c.withVerdict(judge(c))).toList();
  }

  private GateResult keptGate(ReportCell cell) {
    double mean = cell.kept().mean();
    if (cell.method() == Method.TOP_K) {
      return new GateResult("kept/k", true, 0, maxKeptDeviation, "top-k keeps exactly k by construction");
    }
    if (Double.isNaN(mean)) {
      return new GateResult("kept/k", false, Double.NaN, maxKeptDeviation,
          "no row was longer than k=" + cell.k() + ", so kept/k could not be measured");
    }
    double dev = Math.abs(mean - 1);
    boolean pass = dev <= maxKeptDeviation;
    String where = cell.crossDomain() ? "cross-domain " : "";
    String reason = String.format(Locale.ROOT, "%smean kept/k %.3f is %s ±%.2f of target (p5 %.2f, p95 %.2f)",
        where, mean, pass ? "within" : "outside", maxKeptDeviation, cell.kept().p5(), cell.kept().p95());
    if (!pass) {
      reason += mean > 1 ? ": thresholds too low, keeps too much" : ": thresholds too high, prunes too much";
    }
    return new GateResult("kept/k", pass, dev, maxKeptDeviation, reason);
  }

  private GateResult qualityGate(ReportCell cell) {
    double loss = cell.quality().loss();
    boolean pass = loss <= maxQualityLoss;
    String reason = Double.isNaN(loss)
        ? "quality loss could not be measured (" + cell.quality().describeLoss() + ")"
        : String.format(Locale.ROOT, "quality loss %.2f%% %s %.2f%% (%s)", 100 * loss,
            pass ? "≤" : ">", 100 * maxQualityLoss, cell.quality().describeLoss());
    return new GateResult("quality", pass, loss, maxQualityLoss, reason);
  }
}
