package io.thetacal.calibration;

import io.thetacal.attention.Placement;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What one calibration pass measures and how thresholds are derived from it. Validated at construction;
 * the k grid and placements are normalised (sorted, unique) so equal settings give equal configs.
 *
 * @param kGrid target kept elements per row; every k gets thresholds from the same pass (default
 *     {@link #K_GRID_DEFAULT}); each > 0
 * @param sigmaAdd σ_add of the MEAN_STD estimator (default {@value #SIGMA_ADD_DEFAULT}); finite
 * @param placements where thresholds apply; statistics are kept for each listed placement
 * @param exactLengthLimit row lengths up to this are their own bucket (default 64)
 * @param bucketsPerOctave geometric buckets per doubling of n beyond the exact limit (default 8)
 * @param histogramMin lower edge of the score histograms (default {@value #HISTOGRAM_MIN_DEFAULT})
 * @param histogramMax upper edge of the score histograms (default {@value #HISTOGRAM_MAX_DEFAULT})
 * @param histogramBins equal-width bins between the edges, plus an underflow and an overflow bin; 0
 *     turns histograms off (default {@value #HISTOGRAM_BINS_DEFAULT})
 * @param estimator which estimator turns the statistics into thresholds (default MEAN_STD)
 */
public record CalibrationConfig(
    List<Integer> kGrid,
    double sigmaAdd,
    List<Placement> placements,
    int exactLengthLimit,
    int bucketsPerOctave,
    double histogramMin,
    double histogramMax,
    int histogramBins,
    EstimatorKind estimator) implements Serializable {

  public static final List<Integer> K_GRID_DEFAULT = List.of(16, 32, 64, 128, 256);
  public static final double SIGMA_ADD_DEFAULT = 0.1;
  public static final double HISTOGRAM_MIN_DEFAULT = -16;
  public static final double HISTOGRAM_MAX_DEFAULT = 48;
  public static final int HISTOGRAM_BINS_DEFAULT = 128;
  /** Keeps a state's serialized form within one Java byte array. */
  public static final int HISTOGRAM_BINS_LIMIT = 65_536;

  public CalibrationConfig {
    Objects.requireNonNull(kGrid, "'kGrid' must be set");
    Objects.requireNonNull(placements, "'placements' must be set");
    Objects.requireNonNull(estimator, "'estimator' must be set");
    if (kGrid.isEmpty()) {
      throw new IllegalArgumentException("'kGrid' is empty but must list at least one k > 0");
    }
    TreeSet<Integer> ks = new TreeSet<>();
    for (Integer k : kGrid) {
      if (k == null || k <= 0) {
        throw new IllegalArgumentException("'kGrid' contains " + k + " but every k must be > 0");
      }
      ks.add(k);
    }
    kGrid = List.copyOf(ks);
    if (!Double.isFinite(sigmaAdd)) {
      throw new IllegalArgumentException("'sigmaAdd' is set to " + sigmaAdd + " but must be finite");
    }
    if (placements.isEmpty() || placements.stream().anyMatch(Objects::isNull)) {
      throw new IllegalArgumentException("'placements' is set to " + placements
          + " but must list one or both of " + Arrays.toString(Placement.values()));
    }
    placements = List.copyOf(EnumSet.copyOf(placements));
    if (exactLengthLimit < 1) {
      throw new IllegalArgumentException(
          "'exactLengthLimit' is set to " + exactLengthLimit + " but must be >= 1");
    }
    if (bucketsPerOctave < 1 || bucketsPerOctave > 1024) {
      throw new IllegalArgumentException(
          "'bucketsPerOctave' is set to " + bucketsPerOctave + " but must be in 1..1024");
    }
    if (!Double.isFinite(histogramMin) || !Double.isFinite(histogramMax)
        || !(histogramMin < histogramMax)) {
      throw new IllegalArgumentException("'histogramMin' and 'histogramMax' are set to " + histogramMin
          + " and " + histogramMax + " but must be finite with histogramMin < histogramMax");
    }
    if (histogramBins < 0 || histogramBins > HISTOGRAM_BINS_LIMIT) {
      throw new IllegalArgumentException("'histogramBins' is set to " + histogramBins
          + " but must be in 0.." + HISTOGRAM_BINS_LIMIT + " (0 turns histograms off)");
    }
    if (estimator == EstimatorKind.HISTOGRAM_QUANTILE && histogramBins == 0) {
      throw new IllegalArgumentException("'estimator' is set to HISTOGRAM_QUANTILE but "
          + "'histogramBins' is 0; the estimator needs histograms (histogramBins > 0)");
    }
  }

  /** The defaults: k in 16..256, σ_add 0.1, pre-softmax, 64 exact lengths, 8 buckets per octave. */
  public static CalibrationConfig defaults() {
    return new CalibrationConfig(K_GRID_DEFAULT, SIGMA_ADD_DEFAULT, List.of(Placement.PRE_SOFTMAX),
        RowLengthIndex.EXACT_LIMIT_DEFAULT, RowLengthIndex.BUCKETS_PER_OCTAVE_DEFAULT,
        HISTOGRAM_MIN_DEFAULT, HISTOGRAM_MAX_DEFAULT, HISTOGRAM_BINS_DEFAULT, EstimatorKind.MEAN_STD);
  }

  /** This config with the default grid plus the given values (the grid stays sorted and unique). */
  public CalibrationConfig withAdditionalK(int... extra) {
    List<Integer> grid = new ArrayList<>(kGrid);
    for (int k : extra) {
      grid.add(k);
    }
    return withKGrid(grid);
  }

  public CalibrationConfig withKGrid(List<Integer> grid) {
    return new CalibrationConfig(grid, sigmaAdd, placements, exactLengthLimit, bucketsPerOctave,
        histogramMin, histogramMax, histogramBins, estimator);
  }

  public CalibrationConfig withSigmaAdd(double sigma) {
    return new CalibrationConfig(kGrid, sigma, placements, exactLengthLimit, bucketsPerOctave,
        histogramMin, histogramMax, histogramBins, estimator);
  }

  public CalibrationConfig withPlacements(Placement... which) {
    return new CalibrationConfig(kGrid, sigmaAdd, Arrays.asList(which), exactLengthLimit,
        bucketsPerOctave, histogramMin, histogramMax, histogramBins, estimator);
  }

  public CalibrationConfig withRowLengths(int exactLimit, int perOctave) {
    return new CalibrationConfig(kGrid, sigmaAdd, placements, exactLimit, perOctave, histogramMin,
        histogramMax, histogramBins, estimator);
  }

  public CalibrationConfig withHistogram(double min, double max, int bins) {
    return new CalibrationConfig(kGrid, sigmaAdd, placements, exactLengthLimit, bucketsPerOctave,
        min, max, bins, estimator);
  }

  public CalibrationConfig withEstimator(EstimatorKind kind) {
    return new CalibrationConfig(kGrid, sigmaAdd, placements, exactLengthLimit, bucketsPerOctave,
        histogramMin, histogramMax, histogramBins, kind);
  }

  /** The row-length index these settings give for a model's longest row. */
  public RowLengthIndex rowLengthIndex(int maxPositions) {
    return new RowLengthIndex(exactLengthLimit, bucketsPerOctave, maxPositions);
  }

  public boolean hasPlacement(Placement p) {
    return placements.contains(p);
  }

  /** The position of k in the grid, or an error listing the grid. */
  public int kIndex(int k) {
    int i = kGrid.indexOf(k);
    if (i < 0) {
      throw new IllegalArgumentException(
          "k = " + k + " is not in the calibrated k grid " + kGrid + "; use one of those");
    }
    return i;
  }

  /** The estimator these settings select. */
  public Estimator estimatorInstance() {
    return estimator == EstimatorKind.MEAN_STD ? Estimators.meanStd(sigmaAdd)
        : Estimators.histogramQuantile();
  }
}
