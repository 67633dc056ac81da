package io.thetacal.report;

import java.util.List;

/**
 * Kept elements per thresholded row divided by the target k: the mean, the 5th and 95th percentiles
 * (nearest rank) over all thresholded rows, and the mean per layer. 1.0 means "on target"; NaN where no
 * row was thresholded (all rows had n ≤ k).
 *
 * @param rows thresholded rows the statistics are over
 */
public record KeptStats(long rows, double mean, double p5, double p95, List<Double> perLayerMean) {
  public KeptStats {
    perLayerMean = List.copyOf(perLayerMean);
  }
}
