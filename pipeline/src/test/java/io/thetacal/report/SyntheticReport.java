package io.thetacal.report;

import io.thetacal.attention.Placement;
import io.thetacal.attention.ThresholdLookup;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small deterministic report for rendering tests: three datasets, three k, both placements, several
 * compensations and the top-k baseline; values follow simple closed forms so that cells differ.
 */
final class SyntheticReport {
  static final List<String> DATASETS = List.of("europarl", "java <src>", "bible & kjv, king james");
  static final int[] KS = {16, 32, 64};

  private SyntheticReport() {
  }

  /** A pre-softmax table whose θ grows with log n and differs by head. */
  static ThresholdLookup table(double shift) {
    return new ThresholdLookup() {
      @Override
      public float threshold(int layer, int head, int n, int k) {
        return (float) (shift + 0.4 * Math.log(n) - 0.15 * head + 0.05 * layer - 0.2 * Math.log(k));
      }

      @Override
      public double sdcMass(int layer, int head, int n, int k) {
        return 0.1;
      }

      @Override
      public Placement placement() {
        return Placement.PRE_SOFTMAX;
      }
    };
  }

  static ReportData build() {
    Gates gates = Gates.defaults();
    List<ReportCell> cells = new ArrayList<>();
    for (int k : KS) {
      for (int ci = 0; ci < DATASETS.size(); ci++) {
        for (int ei = 0; ei < DATASETS.size(); ei++) {
          double kept = 1 + 0.12 * (ei - ci) + (ci == 2 && ei == 0 ? 0.2 : 0);
          for (Placement p : Placement.values()) {
            for (Compensation comp : Compensation.values()) {
              if (!comp.appliesTo(p) || comp == Compensation.SDC_EXP_VMC
                  || comp == Compensation.SDC_OFFLINE_VMC) {
                continue;
              }
              double base = 0.004 * 16.0 / k * (comp.sdc().ordinal() == 1 ? 0.5 : 1)
                  * (comp.vmc() ? 0.8 : 1) * (p == Placement.POST_SOFTMAX ? 1.4 : 1);
              double loss = base + 0.003 * Math.abs(ei - ci);
              cells.add(new ReportCell(DATASETS.get(ci), DATASETS.get(ei), k, p, comp, Method.TOP_THETA,
                  new KeptStats(5000, kept, kept * 0.55, kept * 1.6, List.of(kept * 0.9, kept * 1.1)),
                  kept * k / 180.0, Math.min(1, 2.5 * kept * k / 180.0), 0.02 * 16.0 / k,
                  List.of(0.01 * 16.0 / k, 0.016 * 16.0 / k, 0.012 * 16.0 / k, 0.02 * 16.0 / k),
                  0.0145 * 16.0 / k,
                  new DecoderQuality(4000, 2.5, 2.5 * (1 + loss), 4100, 1 - 2 * loss), null));
            }
          }
        }
        String eval = DATASETS.get(ci);
        double loss = 0.003 * 16.0 / k;
        cells.add(new ReportCell(null, eval, k, null, Compensation.NONE, Method.TOP_K,
            new KeptStats(5000, 1, 1, 1, List.of(1.0, 1.0)), k / 180.0, Math.min(1, 2.5 * k / 180.0),
            0.015 * 16.0 / k, List.of(0.008 * 16.0 / k, 0.012 * 16.0 / k, 0.01 * 16.0 / k, 0.014 * 16.0 / k),
            0.011 * 16.0 / k, new DecoderQuality(4000, 2.5, 2.5 * (1 + loss), 4100, 1 - loss), null));
      }
    }
    List<HeadDrift> drift = new ArrayList<>();
    for (int l = 0; l < 4; l++) {
      for (int h = 0; h < 4; h++) {
        drift.add(new HeadDrift(l % 2 == 0 ? "europarl" : "bible & kjv, king james", "java <src>", l, h, 0.01 + 0.37 * ((l * 7 + h * 3) % 11) / 11));
      }
    }
    List<ThresholdCurve> curves = List.of(
        ThresholdCurve.sample("europarl", table(0), 16, 0, 0, 256, 4),
        ThresholdCurve.sample("europarl", table(0), 16, 2, 3, 256, 4),
        ThresholdCurve.sample("java <src>", table(0.3), 16, 2, 3, 256, 4));
    Map<String, String> versions = new LinkedHashMap<>();
    versions.put("thetacal", "0.1.0-SNAPSHOT");
    versions.put("model", "synthetic cells (rendering test)");
    versions.put("java", System.getProperty("java.version"));
    Map<String, String> inputs = new LinkedHashMap<>();
    for (String d : DATASETS) {
      inputs.put("dataset " + d, "synthetic");
    }
    return ReportData.assemble("Cross-dataset robustness <synthetic>", gates, cells, drift, 10, curves,
        16, Placement.PRE_SOFTMAX, Compensation.SDC_EXACT_VMC, versions, inputs);
  }
}
