package io.thetacal.report;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.thetacal.attention.Placement;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One measured cell of a robustness report: thresholds calibrated on one dataset (Top-θ) or the top-k
 * baseline, evaluated on one dataset at one k, placement and compensation.
 *
 * @param calibrationDataset the dataset the thresholds were calibrated on; null for {@link Method#TOP_K}
 * @param evaluationDataset the dataset the forward passes ran on
 * @param k target kept elements per row
 * @param placement where Top-θ compares; null for {@link Method#TOP_K}
 * @param compensation SDC/VMC variant; NONE for top-k
 * @param kept kept elements per thresholded row / k
 * @param attentionFraction Σ kept / Σ n over the thresholded rows (n &gt; k) of a prefill pass: the
 *     fraction of attention elements still computed where pruning applies
 * @param vRowFraction V rows needed / visible, per KV group the union over its query heads
 * @param outputRelError ||h_sparse − h_dense|| / ||h_dense|| of the final hidden states over all tokens
 *     of all sequences: the end-to-end error, every layer's sparsification compounded
 * @param attentionRelErrorPerLayer per layer, the mean over tokens of ||o_sparse − o_dense|| / ||o_dense||
 *     of that layer's attention output (all heads concatenated, before the output projection), both
 *     computed from the same layer input (the sparse pass's hidden states), so that each figure isolates
 *     that layer's sparsification; NaN for a layer without rows
 * @param attentionRelError the mean of {@code attentionRelErrorPerLayer} over the layers that have rows
 * @param quality quality against dense on the same inputs
 * @param verdict the gates' outcome; null until judged by {@link Gates#judge}
 */
public record ReportCell(
    String calibrationDataset,
    String evaluationDataset,
    int k,
    Placement placement,
    Compensation compensation,
    Method method,
    KeptStats kept,
    double attentionFraction,
    double vRowFraction,
    double outputRelError,
    List<Double> attentionRelErrorPerLayer,
    double attentionRelError,
    Quality quality,
    Verdict verdict) {

  public ReportCell {
    Objects.requireNonNull(evaluationDataset, "evaluationDataset");
    Objects.requireNonNull(compensation, "compensation");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(kept, "kept");
    Objects.requireNonNull(quality, "quality");
    attentionRelErrorPerLayer = List.copyOf(attentionRelErrorPerLayer);
    if (k <= 0) {
      throw new IllegalArgumentException("'k' is set to " + k + " but must be > 0");
    }
    if (method == Method.TOP_THETA && (calibrationDataset == null || placement == null)) {
      throw new IllegalArgumentException(
          "a TOP_THETA cell needs its calibration dataset and placement");
    }
    if (method == Method.TOP_K && compensation != Compensation.NONE) {
      throw new IllegalArgumentException(
          "'compensation' is set to " + compensation + " but must be NONE for a TOP_K cell");
    }
    if (placement != null && !compensation.appliesTo(placement)) {
      throw new IllegalArgumentException("'compensation' is set to " + compensation
          + " but softmax denominator compensation needs PRE_SOFTMAX placement, not " + placement);
    }
  }

  public ReportCell withVerdict(Verdict v) {
    return new ReportCell(calibrationDataset, evaluationDataset, k, placement, compensation, method,
        kept, attentionFraction, vRowFraction, outputRelError, attentionRelErrorPerLayer, attentionRelError,
        quality, v);
  }

  /** Whether thresholds calibrated on one dataset are applied to another. */
  @JsonProperty
  public boolean crossDomain() {
    return method == Method.TOP_THETA && !calibrationDataset.equals(evaluationDataset);
  }

  /** A short label, e.g. "wiki → code, k=16, PRE_SOFTMAX, SDC_EXACT_VMC" or "top-k on code, k=16". */
  @JsonProperty
  public String label() {
    if (method == Method.TOP_K) {
      return String.format(Locale.ROOT, "top-k on %s, k=%d", evaluationDataset, k);
    }
    return String.format(Locale.ROOT, "%s → %s, k=%d, %s, %s", calibrationDataset, evaluationDataset,
        k, placement, compensation);
  }
}
