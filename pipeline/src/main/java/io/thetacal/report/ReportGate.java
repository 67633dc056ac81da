package io.thetacal.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.thetacal.attention.Placement;
import io.thetacal.io.CandidateGate;
import io.thetacal.model.TransformerModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The gate a refresh runs before publishing: the candidate's thresholds are evaluated on holdout
 * datasets by {@link ReportEvaluator} at one k, placement and compensation and judged by
 * {@link Gates}; the candidate passes when every cell passes. The verdict carries the report's
 * report.json content, stored with the version or the rejected candidate.
 */
public final class ReportGate implements CandidateGate {
  public static final String NAME = "report";
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(SerializationFeature.INDENT_OUTPUT).build();

  private final TransformerModel model;
  private final Map<String, List<int[]>> holdouts;
  private final int k;
  private final Placement placement;
  private final Compensation compensation;
  private final Gates gates;
  private final int batchSize;

  /**
   * @param model the model the thresholds are for
   * @param holdouts holdout dataset name → token-id sequences (not used for calibration)
   * @param k the target k judged; must be in the candidate's k grid
   * @param placement the placement judged; must be the candidate table's
   * @param gates the pass/fail criteria
   */
  public ReportGate(TransformerModel model, Map<String, List<int[]>> holdouts, int k,
      Placement placement, Gates gates) {
    this(model, holdouts, k, placement, Compensation.NONE, gates);
  }

  /**
   * @param model the model the thresholds are for
   * @param holdouts holdout dataset name → token-id sequences (not used for calibration)
   * @param k the target k judged; must be in the candidate's k grid
   * @param placement the placement judged; must be the candidate table's
   * @param compensation the compensation the thresholds are judged with; must apply to the placement
   * @param gates the pass/fail criteria
   */
  public ReportGate(TransformerModel model, Map<String, List<int[]>> holdouts, int k,
      Placement placement, Compensation compensation, Gates gates) {
    this.model = Objects.requireNonNull(model, "model");
    this.holdouts = new TreeMap<>(Objects.requireNonNull(holdouts, "holdouts"));
    if (this.holdouts.isEmpty()) {
      throw new IllegalArgumentException("'holdout' lists no dataset but the report gate needs at"
          + " least one");
    }
    if (k <= 0) {
      throw new IllegalArgumentException("'k' is set to " + k + " but must be > 0");
    }
    this.k = k;
    this.placement = Objects.requireNonNull(placement, "placement");
    this.compensation = Objects.requireNonNull(compensation, "compensation");
    if (!compensation.appliesTo(placement)) {
      throw new IllegalArgumentException("'compensation' is set to " + compensation
          + " but softmax denominator compensation needs PRE_SOFTMAX placement, not " + placement);
    }
    this.gates = Objects.requireNonNull(gates, "gates");
    this.batchSize = ReportEvaluator.BATCH_SIZE_DEFAULT;
  }

  @Override
  public Verdict evaluate(Candidate candidate) {
    if (candidate.table().placement() != placement) {
      throw new IllegalArgumentException("the report gate judges placement " + placement
          + " but candidate " + candidate.version() + " has " + candidate.table().placement());
    }
    candidate.table().kIndex(k);
    List<ReportEvaluator.EvalDataset> datasets = new ArrayList<>();
    Map<String, String> inputs = new LinkedHashMap<>();
    holdouts.forEach((name, seqs) -> {
      datasets.add(new ReportEvaluator.EvalDataset(name, seqs, List.of()));
      inputs.put("holdout " + name, seqs.size() + " sequences");
    });
    String calibration = "candidate " + candidate.version();
    ReportEvaluator.Result measured = new ReportEvaluator(model, batchSize).evaluate(
        List.of(new ReportEvaluator.CalibratedThresholds(calibration, candidate.table(), List.of())),
        datasets,
        new ReportEvaluator.Grid(List.of(k), List.of(placement), List.of(compensation), false));
    ReportData data = ReportData.assemble("Refresh gate for " + candidate.version(), gates,
        measured.cells(), measured.drift(), 10, List.of(), k, placement, compensation,
        Map.of("model", model.info().id(), "candidate", candidate.version()), inputs);
    ReportSummary summary = data.summary();
    List<String> reasons = new ArrayList<>();
    summary.outcomes().stream().filter(o -> !o.pass())
        .forEach(o -> reasons.add(o.cell() + ": " + o.reason()));
    summary.outcomes().stream().filter(ReportSummary.Outcome::pass)
        .forEach(o -> reasons.add(o.cell() + ": " + o.reason()));
    boolean pass = summary.cells() > 0 && summary.failed() == 0;
    String json;
    try {
      json = JSON.writeValueAsString(HtmlReport.jsonDocument(data));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the gate's report as JSON", e);
    }
    return new Verdict(NAME, pass, reasons, json);
  }
}
