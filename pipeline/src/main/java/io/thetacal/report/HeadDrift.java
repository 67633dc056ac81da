package io.thetacal.report;

import com.fasterxml.jackson.annotation.JsonProperty;
/**
 * How far one head's score distribution moved between the calibration and an evaluation dataset:
 * Wasserstein-1 between the two score histograms ({@link Drift}), in score units.
 */
public record HeadDrift(String calibrationDataset, String evaluationDataset, int layer, int head,
    double wasserstein1) {

  @JsonProperty
  public String label() {
    return "L" + layer + ".H" + head + " " + calibrationDataset + " → " + evaluationDataset;
  }
}
