package io.thetacal.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.thetacal.attention.Placement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HtmlReportTest {

  @Test
  void htmlIsSelfContainedAndEscapesText(@TempDir Path dir) throws Exception {
    Path html = HtmlReport.write(SyntheticReport.build(), dir);
    String s = Files.readString(html);
    assertFalse(s.contains("<script"), "no script");
    assertFalse(Pattern.compile("(src|href)\\s*=").matcher(s).find(), "nothing loaded from anywhere");
    assertFalse(s.replace("http://www.w3.org/2000/svg", "").contains("http"), "no URL but the SVG namespace");
    assertTrue(s.contains("java &lt;src&gt;"));
    assertTrue(s.contains("bible &amp; kjv"));
    assertFalse(s.contains("java <src>"));
    for (String id : new String[] {"heatmap-kept", "threshold-curves", "drift-ranking",
        "quality-sparsity", "compensation"}) {
      Matcher m = Pattern.compile("<svg [^>]*id=\"" + id + "\"[^>]*><title>[^<]+</title>").matcher(s);
      assertTrue(m.find(), "chart " + id + " with a title");
    }
  }

  @Test
  void heatmapShowsOneCellPerCalibrationEvaluationPair(@TempDir Path dir) throws Exception {
    String s = HtmlReport.render(SyntheticReport.build());
    String heat = s.substring(s.indexOf("id=\"heatmap-kept\""), s.indexOf("</svg>", s.indexOf("id=\"heatmap-kept\"")));
    assertEquals(9, heat.split("<g class=\"cell\">", -1).length - 1);
    // europarl → europarl is on target: 1.00; bible & kjv → europarl keeps 1 − 0.24 + 0.2 = 0.96
    assertTrue(heat.contains(">1.00</text>"));
    assertTrue(heat.contains(">0.96</text>"));
  }

  @Test
  void emptyReportStillHasEveryChartSayingWhatIsMissing() {
    ReportData empty = ReportData.assemble("empty", Gates.defaults(), List.of(),
        List.of(), 5, List.of(), 16, Placement.PRE_SOFTMAX,
        Compensation.NONE, Map.of(), Map.of());
    String s = HtmlReport.render(empty);
    for (String id : new String[] {"heatmap-kept", "threshold-curves", "drift-ranking",
        "quality-sparsity", "compensation"}) {
      assertTrue(s.contains("id=\"" + id + "\""), id);
    }
    assertTrue(s.contains("No Top-θ cell at the chosen k, placement and compensation."));
    assertTrue(s.contains("No drift was measured"));
    assertTrue(s.contains("No attention output error was measured at the chosen k."));
    assertTrue(s.contains("0 of 0 cells pass the gates"));
  }

  @Test
  void attentionErrorTableHasOneColumnPerLayerAndARowPerCompensationPlacementAndTopK() {
    // SyntheticReport: at k = 16 every Top-θ cell has per-layer errors [0.01, 0.016, 0.012, 0.02] (mean
    // 0.0145) and every top-k cell [0.008, 0.012, 0.01, 0.014] (mean 0.011)
    String s = HtmlReport.render(SyntheticReport.build());
    int from = s.indexOf("id=\"attention-error-layers\"");
    String table = s.substring(from, s.indexOf("</table>", from));
    assertTrue(table.contains("<th>L0</th><th>L1</th><th>L2</th><th>L3</th><th>mean</th>"), table);
    assertTrue(table.contains("<td>SDC_EXACT_VMC</td><td>PRE_SOFTMAX</td><td>0.0100</td><td>0.0160</td>"
        + "<td>0.0120</td><td>0.0200</td><td>0.0145</td>"), table);
    assertTrue(table.contains("<td>top-k</td><td></td><td>0.0080</td><td>0.0120</td><td>0.0100</td>"
        + "<td>0.0140</td><td>0.0110</td>"), table);
    assertEquals(6 + 2 + 1, table.split("<tr><td>", -1).length - 1,
        "SyntheticReport's six pre-softmax and two post-softmax compensations, and top-k");
  }

  @Test
  void heatmapColourIsWhiteOnTargetAndSaturatesAtHalfOff() {
    assertEquals("#ffffff", HtmlReport.heatmapColor(1.0));
    assertEquals("#b2182b", HtmlReport.heatmapColor(1.5));
    assertEquals("#b2182b", HtmlReport.heatmapColor(3.0));
    assertEquals("#2166ac", HtmlReport.heatmapColor(0.5));
    assertEquals("#cccccc", HtmlReport.heatmapColor(Double.NaN));
  }

  @Test
  void jsonIsStrictAndCarriesSummaryGatesVersionsAndCells(@TempDir Path dir) throws Exception {
    ReportData data = SyntheticReport.build();
    HtmlReport.write(data, dir);
    JsonMapper strict = JsonMapper.builder().disable(JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS).build();
    JsonNode doc = strict.readTree(dir.resolve(HtmlReport.JSON_FILE).toFile());
    assertEquals(0.2, doc.at("/gates/maxKeptDeviation").asDouble());
    assertEquals(0.01, doc.at("/gates/maxQualityLoss").asDouble());
    assertEquals(data.summary().passed(), doc.at("/summary/passed").asInt());
    assertEquals(data.cells().size(), doc.at("/cells").size());
    assertEquals("DECODER", doc.at("/cells/0/quality/family").asText());
    assertEquals("0.1.0-SNAPSHOT", doc.at("/versions/thetacal").asText());
    assertEquals("L", doc.at("/summary/driftRanking/0/label").asText().substring(0, 1));
    assertTrue(doc.at("/summary/outcomes/0/reason").asText().length() > 10);
  }
}
