package io.thetacal.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.thetacal.attention.Placement;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Writes a report as a self-contained {@code report.html} (inline CSS and SVG charts, no script, nothing
 * fetched: it opens offline) and a {@code report.json} with the summary, gates, cells, versions and
 * inputs. Charts: calibrate × evaluate heatmap of mean kept/k ({@code #heatmap-kept}), θ against row
 * length ({@code #threshold-curves}), head drift ranking ({@code #drift-ranking}), quality loss against
 * attention kept for Top-θ and top-k ({@code #quality-sparsity}), compensation comparison
 * ({@code #compensation}).
 */
public final class HtmlReport {
  public static final String HTML_FILE = "report.html";
  public static final String JSON_FILE = "report.json";

  private static final int LEGEND_X = 780;

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .build();

  private HtmlReport() {
  }

  /** Writes report.html and report.json into {@code dir} (created if missing); returns the HTML path. */
  public static Path write(ReportData data, Path dir) {
    try {
      Files.createDirectories(dir);
      Path html = dir.resolve(HTML_FILE);
      Files.writeString(html, render(data), StandardCharsets.UTF_8);
      JSON.writeValue(dir.resolve(JSON_FILE).toFile(), jsonDocument(data));
      return html;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the report into " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The content of report.json. */
  static Map<String, Object> jsonDocument(ReportData data) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("title", data.title());
    doc.put("versions", data.versions());
    doc.put("inputs", data.inputs());
    doc.put("gates", data.summary().gates());
    doc.put("focus", Map.of("k", data.focusK(), "placement", data.focusPlacement(),
        "compensation", data.focusCompensation()));
    doc.put("summary", data.summary());
    doc.put("cells", data.cells());
    return doc;
  }

  /** The full HTML document. */
  public static String render(ReportData d) {
    StringBuilder h = new StringBuilder(64 * 1024);
    ReportSummary s = d.summary();
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .append("<title>").append(Html.escape(d.title())).append("</title>\n<style>")
        .append(CSS).append("</style></head><body>\n");
    h.append("<h1>").append(Html.escape(d.title())).append("</h1>\n");
    h.append("<p class=\"verdict ").append(s.failed() == 0 ? "pass" : "fail").append("\">")
        .append(s.passed()).append(" of ").append(s.cells()).append(" cells pass the gates")
        .append(String.format(Locale.ROOT, " (|mean kept/k − 1| ≤ %.2f; quality loss ≤ %.2f%%)",
            s.gates().maxKeptDeviation(), 100 * s.gates().maxQualityLoss()))
        .append("</p>\n");
    if (s.failed() > 0) {
      h.append("<p class=\"note\">Failures by gate: ").append(Html.escape(s.failuresByGate().entrySet()
          .stream().filter(e -> e.getValue() > 0).map(e -> e.getKey() + " " + e.getValue())
          .collect(Collectors.joining(", ")))).append(" (a cell can fail both).</p>\n");
    }
    String focus = String.format(Locale.ROOT, "k=%d, %s, %s", d.focusK(), d.focusPlacement(),
        d.focusCompensation());

    section(h, "Calibrate × evaluate: mean kept/k (" + focus + ")",
        "Each cell: thresholds calibrated on the row's dataset, run on the column's dataset. 1.00 is on"
            + " target; blue prunes more than k, red keeps more. A thick outline marks a failed kept/k"
            + " gate.", heatmap(d));
    section(h, "Thresholds against row length",
        "θ(layer, head, n, k) read back from the threshold tables for chosen heads.",
        thresholdChart(d));
    section(h, "Heads that drifted most",
        "Wasserstein-1 distance between a head's score histogram on the calibration data and on the"
            + " evaluation data (score units).", driftChart(s.driftRanking()));
    section(h, "Quality against sparsity (" + d.focusPlacement() + ", " + d.focusCompensation()
            + " for Top-θ)",
        "x: fraction of attention elements kept; y: quality loss against dense (dashed: the gate)."
            + " Circles: Top-θ; squares: top-k at the same k.", qualityChart(d));
    section(h, "Compensation comparison (k=" + d.focusK() + ")",
        "Mean quality loss per compensation variant over all calibrate × evaluate pairs.",
        compensationChart(d) + compensationTable(d));
    section(h, "Attention output error per layer (k=" + d.focusK() + ")",
        "Per layer: ‖o_sparse − o_dense‖ / ‖o_dense‖ of each token's attention output (all heads, before"
            + " the output projection), dense and sparse computed from the same layer input, so a layer's"
            + " figure is its own sparsification only; mean over tokens, then over the cells of the row"
            + " (all calibrate × evaluate pairs).", attentionErrorTable(d));
    h.append("<section><h2>Gates per cell</h2>\n").append(cellTable(d)).append("</section>\n");
    h.append("<section><h2>Inputs and versions</h2>\n").append(mapTable("Versions", d.versions()))
        .append(mapTable("Inputs", d.inputs())).append("</section>\n");
    h.append("</body></html>\n");
    return h.toString();
  }

  private static void section(StringBuilder h, String title, String note, String body) {
    h.append("<section><h2>").append(Html.escape(title)).append("</h2><p class=\"note\">")
        .append(Html.escape(note)).append("</p>\n").append(body).append("</section>\n");
  }

  private static String empty(String id, String title, String why) {
    return new Svg(id, title, 600, 60).text(10, 35, why, "start", 13, "fill=\"#777\"").end();
  }

  // ---- heatmap ----

  static String heatmapColor(double v) {
    if (!Double.isFinite(v)) {
      return "#cccccc";
    }
    double t = Math.max(-1, Math.min(1, (v - 1) / 0.5));
    int[] end = t < 0 ? new int[] {33, 102, 172} : new int[] {178, 24, 43};
    double a = Math.abs(t);
    return String.format(Locale.ROOT, "#%02x%02x%02x", (int) Math.round(255 + (end[0] - 255) * a),
        (int) Math.round(255 + (end[1] - 255) * a), (int) Math.round(255 + (end[2] - 255) * a));
  }

  private static String heatmap(ReportData d) {
    List<ReportCell> cells = d.cells().stream()
        .filter(c -> c.method() == Method.TOP_THETA && c.k() == d.focusK()
            && c.placement() == d.focusPlacement() && c.compensation() == d.focusCompensation())
        .toList();
    String title = "Mean kept/k, calibration dataset × evaluation dataset";
    if (cells.isEmpty()) {
      return empty("heatmap-kept", title, "No Top-θ cell at the chosen k, placement and compensation.");
    }
    List<String> cal = distinct(cells, ReportCell::calibrationDataset);
    List<String> eval = distinct(cells, ReportCell::evaluationDataset);
    int left = Math.max(160, textWidth(cal, 12) + 24);
    int top = 70;
    int cw = Math.max(120, textWidth(eval, 12) + 16);
    int ch = 52;
    int width = left + eval.size() * cw + 150;
    int height = Math.max(top + cal.size() * ch + 30, 300);
    Svg svg = new Svg("heatmap-kept", title, width, height);
    svg.text(left + eval.size() * cw / 2.0, 18, "evaluated on", "middle", 12, "font-weight=\"bold\"");
    svg.text(12, top - 12, "calibrated on", "start", 12, "font-weight=\"bold\"");
    for (int j = 0; j < eval.size(); j++) {
      svg.text(left + j * cw + cw / 2.0, top - 12, eval.get(j), "middle", 12, null);
    }
    for (int i = 0; i < cal.size(); i++) {
      svg.text(left - 10, top + i * ch + ch / 2.0 + 4, cal.get(i), "end", 12, null);
      for (int j = 0; j < eval.size(); j++) {
        String c0 = cal.get(i);
        String e0 = eval.get(j);
        ReportCell c = cells.stream()
            .filter(x -> x.calibrationDataset().equals(c0) && x.evaluationDataset().equals(e0))
            .findFirst().orElse(null);
        double x = left + j * cw;
        double y = top + i * ch;
        if (c == null) {
          svg.rect(x + 1, y + 1, cw - 2, ch - 2, "#f4f4f4", "class=\"cell missing\"");
          continue;
        }
        double v = c.kept().mean();
        boolean keptFail = c.verdict().gates().stream()
            .anyMatch(g -> g.gate().equals("kept/k") && !g.pass());
        String tip = c.label() + ": " + c.verdict().reason();
        svg.raw("<g class=\"cell\"><title>" + Html.escape(tip) + "</title>");
        svg.rect(x + 1, y + 1, cw - 2, ch - 2, heatmapColor(v),
            keptFail ? "stroke=\"#111\" stroke-width=\"3\"" : "stroke=\"#fff\" stroke-width=\"1\"");
        String ink = Double.isFinite(v) && Math.abs(v - 1) > 0.3 ? "#fff" : "#111";
        svg.text(x + cw / 2.0, y + ch / 2.0, fmt(v, "%.2f"), "middle", 15,
            "fill=\"" + ink + "\" font-weight=\"bold\"");
        svg.text(x + cw / 2.0, y + ch / 2.0 + 16,
            "p5 " + fmt(c.kept().p5(), "%.2f") + " · p95 " + fmt(c.kept().p95(), "%.2f"), "middle", 10,
            "fill=\"" + ink + "\"");
        svg.raw("</g>\n");
      }
    }
    double lx = left + eval.size() * cw + 40;
    int steps = 20;
    double lh = 180;
    svg.text(lx, top - 12, "kept/k", "start", 11, null);
    for (int s = 0; s < steps; s++) {
      double v = 1.5 - s / (double) (steps - 1);
      svg.rect(lx, top + s * lh / steps, 18, lh / steps + 0.5, heatmapColor(v), "class=\"legend\"");
    }
    for (double v : new double[] {1.5, 1.0, 0.5}) {
      svg.text(lx + 24, top + (1.5 - v) * lh * (steps - 1) / steps + 8, fmt(v, "%.1f"), "start", 11,
          null);
    }
    return svg.end();
  }

  // ---- threshold curves ----

  private static String thresholdChart(ReportData d) {
    List<ThresholdCurve> curves = d.thresholdCurves();
    String title = "Threshold θ against row length n for chosen heads";
    if (curves.isEmpty()) {
      return empty("threshold-curves", title, "No threshold curve was requested.");
    }
    double xMin = Double.POSITIVE_INFINITY;
    double xMax = Double.NEGATIVE_INFINITY;
    double yMin = Double.POSITIVE_INFINITY;
    double yMax = Double.NEGATIVE_INFINITY;
    for (ThresholdCurve c : curves) {
      for (int i = 0; i < c.lengths().length; i++) {
        xMin = Math.min(xMin, c.lengths()[i]);
        xMax = Math.max(xMax, c.lengths()[i]);
        if (Float.isFinite(c.thresholds()[i])) {
          yMin = Math.min(yMin, c.thresholds()[i]);
          yMax = Math.max(yMax, c.thresholds()[i]);
        }
      }
    }
    int width = LEGEND_X + 460;
    int height = 380;
    double pad = yMax > yMin ? 0.05 * (yMax - yMin) : 0;
    Svg.Scale x = Svg.Scale.of(xMin, xMax, 70, 760);
    Svg.Scale y = Svg.Scale.of(yMin - pad, yMax + pad, height - 60, 20);
    Svg svg = new Svg("threshold-curves", title, width, height);
    svg.axes(x, y, "row length n (visible keys)", "θ", 6, "%.0f", "%.3g");
    for (int i = 0; i < curves.size(); i++) {
      ThresholdCurve c = curves.get(i);
      double[] xs = new double[c.lengths().length];
      double[] ys = new double[xs.length];
      for (int p = 0; p < xs.length; p++) {
        xs[p] = x.map(c.lengths()[p]);
        ys[p] = Float.isFinite(c.thresholds()[p]) ? y.map(c.thresholds()[p]) : Double.NaN;
      }
      String color = Svg.PALETTE[i % Svg.PALETTE.length];
      svg.path(xs, ys, color, 2, "series");
      legend(svg, LEGEND_X, 30 + i * 20, color, c.label() + " " + shortPlacement(c.placement()), false);
    }
    return svg.end();
  }

  // ---- drift ----

  private static String driftChart(List<HeadDrift> ranking) {
    String title = "Per-head drift ranking (Wasserstein-1 between calibration and evaluation scores)";
    if (ranking.isEmpty()) {
      return empty("drift-ranking", title, "No drift was measured (no calibration histograms given).");
    }
    int left = Math.max(200, textWidth(ranking.stream().map(HeadDrift::label).toList(), 11) + 16);
    int barH = 22;
    int height = 50 + ranking.size() * barH + 40;
    int width = left + 740;
    double max = ranking.stream().mapToDouble(HeadDrift::wasserstein1).max().orElse(1);
    Svg.Scale x = Svg.Scale.of(0, max > 0 ? max * 1.1 : 1, left, width - 120);
    Svg svg = new Svg("drift-ranking", title, width, height);
    double bottom = 30 + ranking.size() * barH;
    for (double t : x.ticks(6)) {
      svg.line(x.map(t), 20, x.map(t), bottom, "#e3e3e3", 1);
      svg.text(x.map(t), bottom + 16, fmt(t, "%.3g"), "middle", 11, null);
    }
    svg.text((left + width - 120) / 2.0, bottom + 34, "Wasserstein-1 (score units)", "middle", 12, null);
    for (int i = 0; i < ranking.size(); i++) {
      HeadDrift hd = ranking.get(i);
      double y = 24 + i * barH;
      svg.text(left - 8, y + barH / 2.0 + 3, hd.label(), "end", 11, null);
      svg.rect(left, y + 2, x.map(hd.wasserstein1()) - left, barH - 6,
          i < 3 ? "#d62728" : "#1f77b4", "class=\"bar\"");
      svg.text(x.map(hd.wasserstein1()) + 5, y + barH / 2.0 + 3, fmt(hd.wasserstein1(), "%.4f"),
          "start", 11, null);
    }
    svg.line(left, 20, left, bottom, "#555", 1);
    return svg.end();
  }

  // ---- quality vs sparsity ----

  private static String qualityChart(ReportData d) {
    String title = "Quality loss against fraction of attention elements kept";
    Map<String, List<ReportCell>> series = new LinkedHashMap<>();
    for (ReportCell c : d.cells()) {
      if (c.method() == Method.TOP_K) {
        series.computeIfAbsent("top-k on " + c.evaluationDataset(), key -> new ArrayList<>()).add(c);
      } else if (c.placement() == d.focusPlacement() && c.compensation() == d.focusCompensation()) {
        series.computeIfAbsent("Top-θ " + c.calibrationDataset() + " → " + c.evaluationDataset(),
            key -> new ArrayList<>()).add(c);
      }
    }
    List<ReportCell> all = series.values().stream().flatMap(List::stream)
        .filter(c -> Double.isFinite(c.attentionFraction()) && Double.isFinite(c.quality().loss()))
        .toList();
    if (all.isEmpty()) {
      return empty("quality-sparsity", title, "No cell with measured sparsity and quality.");
    }
    double gate = 100 * d.summary().gates().maxQualityLoss();
    double yMin = Math.min(0, all.stream().mapToDouble(c -> 100 * c.quality().loss()).min().orElse(0));
    double yMax = Math.max(gate * 1.2, all.stream().mapToDouble(c -> 100 * c.quality().loss()).max()
        .orElse(1));
    double xMax = Math.min(1, 1.1 * all.stream().mapToDouble(ReportCell::attentionFraction).max()
        .orElse(1));
    int width = LEGEND_X + 460;
    int height = Math.max(400, 60 + 20 * series.size());
    Svg.Scale x = Svg.Scale.of(0, xMax, 70, 700);
    Svg.Scale y = Svg.Scale.of(yMin, yMax * 1.05, height - 60, 20);
    Svg svg = new Svg("quality-sparsity", title, width, height);
    svg.axes(x, y, "fraction of attention elements kept", "quality loss (%)", 6, "%.2f", "%.2f");
    svg.raw("<line x1=\"70\" x2=\"700\" y1=\"" + Svg.f(y.map(gate)) + "\" y2=\"" + Svg.f(y.map(gate))
        + "\" stroke=\"#d62728\" stroke-dasharray=\"6 4\" stroke-width=\"1.5\" class=\"gate\"/>\n");
    svg.text(695, y.map(gate) - 5, "gate " + fmt(gate, "%.2f") + "%", "end", 11, "fill=\"#d62728\"");
    int i = 0;
    for (Map.Entry<String, List<ReportCell>> e : series.entrySet()) {
      String color = Svg.PALETTE[i % Svg.PALETTE.length];
      List<ReportCell> pts = e.getValue().stream()
          .filter(c -> Double.isFinite(c.attentionFraction()) && Double.isFinite(c.quality().loss()))
          .sorted((a, b) -> Double.compare(a.attentionFraction(), b.attentionFraction())).toList();
      boolean topK = e.getKey().startsWith("top-k");
      svg.path(pts.stream().mapToDouble(c -> x.map(c.attentionFraction())).toArray(),
          pts.stream().mapToDouble(c -> y.map(100 * c.quality().loss())).toArray(), color, 1.5,
          "series", topK ? "stroke-dasharray=\"5 3\"" : null);
      for (ReportCell c : pts) {
        double px = x.map(c.attentionFraction());
        double py = y.map(100 * c.quality().loss());
        String tip = c.label() + String.format(Locale.ROOT, ": kept %.3f, loss %.3f%%",
            c.attentionFraction(), 100 * c.quality().loss());
        if (topK) {
          svg.raw("<rect class=\"point\" x=\"" + Svg.f(px - 4) + "\" y=\"" + Svg.f(py - 4)
              + "\" width=\"8\" height=\"8\" fill=\"" + color + "\"><title>" + Html.escape(tip)
              + "</title></rect>\n");
        } else {
          svg.circle(px, py, 4.5, color, tip);
        }
        svg.text(px + 6, py - 6, "k=" + c.k(), "start", 9, "fill=\"#555\"");
      }
      legend(svg, LEGEND_X, 30 + i * 20, color, e.getKey(), topK);
      i++;
    }
    return svg.end();
  }

  // ---- compensation ----

  private record CompAgg(Compensation comp, Placement placement, int cells, int passed, double keptMean,
      double lossMean, double relErrMean, double attnErrMean, double[] attnErrPerLayer) {
  }

  /** Per layer, the mean over cells of their per-layer attention output error (NaN entries left out). */
  private static double[] perLayerMean(List<ReportCell> g) {
    int layers = g.stream().mapToInt(c -> c.attentionRelErrorPerLayer().size()).max().orElse(0);
    double[] out = new double[layers];
    for (int l = 0; l < layers; l++) {
      int layer = l;
      out[l] = g.stream().filter(c -> c.attentionRelErrorPerLayer().size() > layer)
          .mapToDouble(c -> c.attentionRelErrorPerLayer().get(layer)).filter(Double::isFinite)
          .average().orElse(Double.NaN);
    }
    return out;
  }

  private static List<CompAgg> compensationAggregates(ReportData d) {
    List<ReportCell> cells = d.cells().stream()
        .filter(c -> c.method() == Method.TOP_THETA && c.k() == d.focusK()).toList();
    List<CompAgg> out = new ArrayList<>();
    for (Compensation comp : Compensation.values()) {
      for (Placement p : Placement.values()) {
        List<ReportCell> g = cells.stream()
            .filter(c -> c.compensation() == comp && c.placement() == p).toList();
        if (!g.isEmpty()) {
          out.add(new CompAgg(comp, p, g.size(),
              (int) g.stream().filter(c -> c.verdict().pass()).count(),
              mean(g, c -> c.kept().mean()), mean(g, c -> c.quality().loss()),
              mean(g, ReportCell::outputRelError), mean(g, ReportCell::attentionRelError),
              perLayerMean(g)));
        }
      }
    }
    List<ReportCell> topK = d.cells().stream()
        .filter(c -> c.method() == Method.TOP_K && c.k() == d.focusK()).toList();
    if (!topK.isEmpty()) {
      out.add(new CompAgg(Compensation.NONE, null, topK.size(),
          (int) topK.stream().filter(c -> c.verdict().pass()).count(), mean(topK, c -> c.kept().mean()),
          mean(topK, c -> c.quality().loss()), mean(topK, ReportCell::outputRelError),
          mean(topK, ReportCell::attentionRelError), perLayerMean(topK)));
    }
    return out;
  }

  private static String compensationChart(ReportData d) {
    List<CompAgg> aggs = compensationAggregates(d).stream().filter(a -> a.placement() != null).toList();
    String title = "Mean quality loss per compensation variant and placement";
    if (aggs.isEmpty()) {
      return empty("compensation", title, "No Top-θ cell at the chosen k.");
    }
    List<Compensation> comps = aggs.stream().map(CompAgg::comp).distinct().toList();
    List<Placement> places = aggs.stream().map(CompAgg::placement).distinct().toList();
    double gate = 100 * d.summary().gates().maxQualityLoss();
    double yMax = Math.max(gate * 1.2, aggs.stream().mapToDouble(a -> 100 * a.lossMean())
        .filter(Double::isFinite).max().orElse(1));
    double yMin = Math.min(0, aggs.stream().mapToDouble(a -> 100 * a.lossMean())
        .filter(Double::isFinite).min().orElse(0));
    int width = 1000;
    int height = 380;
    int left = 70;
    int right = 760;
    Svg.Scale y = Svg.Scale.of(yMin, yMax * 1.05, height - 80, 20);
    Svg svg = new Svg("compensation", title, width, height);
    for (double t : y.ticks(6)) {
      svg.line(left, y.map(t), right, y.map(t), "#e3e3e3", 1);
      svg.text(left - 6, y.map(t) + 4, fmt(t, "%.2f"), "end", 11, null);
    }
    svg.text(14, (height - 60) / 2.0, "quality loss (%)", "middle", 12,
        "transform=\"rotate(-90 14 " + Svg.f((height - 60) / 2.0) + ")\"");
    double groupW = (right - left) / (double) comps.size();
    double barW = Math.min(40, (groupW - 16) / places.size());
    for (int gi = 0; gi < comps.size(); gi++) {
      double gx = left + gi * groupW + (groupW - barW * places.size()) / 2;
      for (int pi = 0; pi < places.size(); pi++) {
        Compensation comp = comps.get(gi);
        Placement pl = places.get(pi);
        CompAgg a = aggs.stream().filter(z -> z.comp() == comp && z.placement() == pl).findFirst()
            .orElse(null);
        if (a == null || !Double.isFinite(a.lossMean())) {
          continue;
        }
        double v = 100 * a.lossMean();
        double y0 = y.map(0);
        double y1 = y.map(v);
        svg.raw("<g class=\"bar\"><title>" + Html.escape(comp + ", " + pl + ": mean loss "
            + fmt(v, "%.3f") + "% over " + a.cells() + " cells") + "</title>");
        svg.rect(gx + pi * barW, Math.min(y0, y1), barW - 2, Math.abs(y1 - y0),
            Svg.PALETTE[pi % Svg.PALETTE.length], null);
        svg.raw("</g>\n");
        svg.text(gx + pi * barW + barW / 2 - 1, Math.min(y0, y1) - 4, fmt(v, "%.2f"), "middle", 10, null);
      }
      svg.text(left + gi * groupW + groupW / 2, height - 62, comps.get(gi).name(), "middle", 10,
          null);
    }
    svg.line(left, y.map(0), right, y.map(0), "#555", 1);
    svg.raw("<line x1=\"" + left + "\" x2=\"" + right + "\" y1=\"" + Svg.f(y.map(gate)) + "\" y2=\""
        + Svg.f(y.map(gate)) + "\" stroke=\"#d62728\" stroke-dasharray=\"6 4\" class=\"gate\"/>\n");
    for (int pi = 0; pi < places.size(); pi++) {
      legend(svg, LEGEND_X, 30 + pi * 20, Svg.PALETTE[pi % Svg.PALETTE.length], places.get(pi).name(),
          true);
    }
    return svg.end();
  }

  private static String compensationTable(ReportData d) {
    StringBuilder t = new StringBuilder("<table class=\"data\"><thead><tr><th>compensation</th>"
        + "<th>placement</th><th>cells</th><th>pass</th><th>mean kept/k</th><th>mean quality loss</th>"
        + "<th>mean output rel. error</th><th>mean attention rel. error</th></tr></thead><tbody>\n");
    for (CompAgg a : compensationAggregates(d)) {
      t.append("<tr><td>").append(a.placement() == null ? "top-k" : a.comp()).append("</td><td>")
          .append(a.placement() == null ? "" : a.placement())
          .append("</td><td>").append(a.cells()).append("</td><td>").append(a.passed())
          .append("</td><td>").append(fmt(a.keptMean(), "%.3f")).append("</td><td>")
          .append(fmt(100 * a.lossMean(), "%.3f")).append("%</td><td>")
          .append(fmt(a.relErrMean(), "%.4f")).append("</td><td>")
          .append(fmt(a.attnErrMean(), "%.4f")).append("</td></tr>\n");
    }
    return t.append("</tbody></table>\n").toString();
  }

  private static String attentionErrorTable(ReportData d) {
    List<CompAgg> aggs = compensationAggregates(d);
    int layers = aggs.stream().mapToInt(a -> a.attnErrPerLayer().length).max().orElse(0);
    if (aggs.isEmpty() || layers == 0) {
      return "<p class=\"note\" id=\"attention-error-layers\">No attention output error was measured at"
          + " the chosen k.</p>\n";
    }
    StringBuilder t = new StringBuilder("<table class=\"data\" id=\"attention-error-layers\"><thead><tr>"
        + "<th>compensation</th><th>placement</th>");
    for (int l = 0; l < layers; l++) {
      t.append("<th>L").append(l).append("</th>");
    }
    t.append("<th>mean</th></tr></thead><tbody>\n");
    for (CompAgg a : aggs) {
      t.append("<tr><td>").append(a.placement() == null ? "top-k" : a.comp()).append("</td><td>")
          .append(a.placement() == null ? "" : a.placement()).append("</td>");
      for (int l = 0; l < layers; l++) {
        t.append("<td>").append(l < a.attnErrPerLayer().length ? fmt(a.attnErrPerLayer()[l], "%.4f") : "")
            .append("</td>");
      }
      t.append("<td>").append(fmt(a.attnErrMean(), "%.4f")).append("</td></tr>\n");
    }
    return t.append("</tbody></table>\n").toString();
  }

  // ---- tables ----

  private static String cellTable(ReportData d) {
    StringBuilder t = new StringBuilder("<table class=\"data\" id=\"gates-table\"><thead><tr>"
        + "<th>cell</th><th>kept/k mean [p5, p95]</th><th>kept/k per layer</th><th>attention kept</th>"
        + "<th>V rows</th>"
        + "<th>output rel. error</th><th>attention rel. error, mean [per layer]</th>"
        + "<th>quality loss</th><th>verdict</th><th>reason</th></tr>"
        + "</thead><tbody>\n");
    for (ReportCell c : d.cells()) {
      boolean pass = c.verdict().pass();
      t.append("<tr class=\"").append(pass ? "pass" : "fail").append("\"><td>")
          .append(Html.escape(c.label())).append("</td><td>").append(fmt(c.kept().mean(), "%.3f"))
          .append(" [").append(fmt(c.kept().p5(), "%.2f")).append(", ")
          .append(fmt(c.kept().p95(), "%.2f")).append("]</td><td class=\"layers\">")
          .append(c.kept().perLayerMean().stream().map(v -> fmt(v, "%.2f"))
              .collect(Collectors.joining(" ")))
          .append("</td><td>").append(fmt(c.attentionFraction(), "%.3f")).append("</td><td>")
          .append(fmt(c.vRowFraction(), "%.3f")).append("</td><td>")
          .append(fmt(c.outputRelError(), "%.4f")).append("</td><td class=\"layers\">")
          .append(fmt(c.attentionRelError(), "%.4f")).append(" [")
          .append(c.attentionRelErrorPerLayer().stream().map(v -> fmt(v, "%.3f"))
              .collect(Collectors.joining(" ")))
          .append("]</td><td>")
          .append(fmt(100 * c.quality().loss(), "%.3f")).append("%</td><td class=\"v\">")
          .append(pass ? "PASS" : "FAIL").append("</td><td>")
          .append(Html.escape(c.verdict().reason())).append("</td></tr>\n");
    }
    return t.append("</tbody></table>\n").toString();
  }

  private static String mapTable(String caption, Map<String, String> m) {
    StringBuilder t = new StringBuilder("<table class=\"kv\"><caption>").append(Html.escape(caption))
        .append("</caption><tbody>\n");
    m.forEach((k, v) -> t.append("<tr><th>").append(Html.escape(k)).append("</th><td>")
        .append(Html.escape(v)).append("</td></tr>\n"));
    return t.append("</tbody></table>\n").toString();
  }

  // ---- drawing and formatting ----

  private static void legend(Svg svg, double x, double y, String color, String label, boolean square) {
    if (square) {
      svg.rect(x, y - 5, 10, 10, color, "class=\"legend\"");
    } else {
      svg.line(x, y, x + 16, y, color, 3);
    }
    svg.text(x + 22, y + 4, label, "start", 11, null);
  }

  /** A generous estimate of the rendered width of the longest label, in pixels. */
  private static int textWidth(List<String> labels, int fontSize) {
    int longest = labels.stream().mapToInt(String::length).max().orElse(0);
    return (int) Math.ceil(longest * fontSize * 0.62);
  }

  private static String shortPlacement(Placement p) {
    return p == Placement.PRE_SOFTMAX ? "pre" : "post";
  }

  private static List<String> distinct(List<ReportCell> cells, Function<ReportCell, String> f) {
    return new ArrayList<>(cells.stream().map(f).collect(Collectors.toCollection(LinkedHashSet::new)));
  }

  private static double mean(List<ReportCell> cells, java.util.function.ToDoubleFunction<ReportCell> f) {
    return cells.stream().mapToDouble(f).filter(Double::isFinite).average().orElse(Double.NaN);
  }

  private static String fmt(double v, String pattern) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, pattern, v) : "n/a";
  }

  private static final String CSS = """
      body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px auto;
        max-width:1320px;color:#222;padding:0 16px}
      h1{font-size:24px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 4px;border-bottom:1px solid #ddd;
        padding-bottom:4px}
      .note{color:#555;font-size:13px;margin:4px 0 10px}
      .verdict{font-size:16px;font-weight:600;padding:8px 12px;border-radius:4px;display:inline-block}
      .verdict.pass{background:#e5f5e0;color:#1b5e20}.verdict.fail{background:#fdecea;color:#8e1b10}
      svg{display:block;max-width:100%;height:auto;background:#fff}
      svg text{font-family:inherit}
      table{border-collapse:collapse;font-size:12px;margin:10px 0}
      th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
      thead th{background:#f3f3f3}td.layers{font-family:ui-monospace,"DejaVu Sans Mono",monospace;
        font-size:11px;max-width:220px}
      tr.pass td.v{color:#1b5e20;font-weight:700}tr.fail td.v{color:#b71c1c;font-weight:700}
      table.kv th{background:#f7f7f7;font-weight:600}caption{text-align:left;font-weight:600;padding:4px 0}
      """;
}
