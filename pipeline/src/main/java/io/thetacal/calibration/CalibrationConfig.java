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
 * @param histogramsPerK one histogram per k of the grid instead of one per (layer, head, n-bucket): with
 *     top-k at calibration each k's pass sees different activations, and the kept-count-matching
 *     estimator must read the histogram of the activations of its own k (default false)
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
    EstimatorKind estimator,
    boolean histogramsPerK) implements Serializable {

  public static final List<Integer> K_GRID_DEFAULT = List.of(16, 32, 64, 128, 256);
  public static final double SIGMA_ADD_DEFAULT = 0.1;
  public static final double HISTOGRAM_MIN_DEFAULT = -16;
  public static final double HISTOGRAM_MAX_DEFAULT = 48;
  public static final int HISTOGRAM_BINS_DEFAULT = 256;
  /** Keeps a state's serialized form within one Java byte array. */
  public static final int HISTOGRAM_BINS_LIMIT = 65_536;

  /** Settings with one histogram per (layer, head, n-bucket), shared by every k. */
  public CalibrationConfig(List<Integer> kGrid, double sigmaAdd, List<Placement> placements,
      int exactLengthLimit, int bucketsPerOctave, double histogramMin, double histogramMax,
      int histogramBins, EstimatorKind estimator) {
    this(kGrid, sigmaAdd, placements, exactLengthLimit, bucketsPerOctave, histogramMin, histogramMax,
        histogramBins, estimator, false);
  }

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

  /** Option key: the whole k grid (replaces the default grid). */
  public static final String K_GRID = "kGrid";
  /** Option key: k values added to the grid (default or {@value #K_GRID}). */
  public static final String ADDITIONAL_K = "additionalK";
  public static final String SIGMA_ADD = "sigmaAdd";
  public static final String PLACEMENTS = "placements";
  public static final String EXACT_LENGTH_LIMIT = "exactLengthLimit";
  public static final String BUCKETS_PER_OCTAVE = "bucketsPerOctave";
  public static final String HISTOGRAM_MIN = "histogramMin";
  public static final String HISTOGRAM_MAX = "histogramMax";
  public static final String HISTOGRAM_BINS = "histogramBins";
  public static final String ESTIMATOR = "estimator";
  /** Every option key {@link #fromOptions} accepts. */
  public static final List<String> OPTION_KEYS = List.of(K_GRID, ADDITIONAL_K, SIGMA_ADD, PLACEMENTS,
      EXACT_LENGTH_LIMIT, BUCKETS_PER_OCTAVE, HISTOGRAM_MIN, HISTOGRAM_MAX, HISTOGRAM_BINS, ESTIMATOR);

  /**
   * A config from string-keyed options (as parsed from YAML or {@code --set key=value}): absent keys take
   * their defaults; lists may be given as lists or comma-separated strings; enum names are
   * case-insensitive. Unknown keys and values of the wrong type are rejected, naming the key.
   */
  public static CalibrationConfig fromOptions(java.util.Map<String, ?> options) {
    java.util.Set<String> unknown = new java.util.TreeSet<>(options.keySet());
    OPTION_KEYS.forEach(unknown::remove);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("Cannot use calibration options " + unknown
          + ", they are not supported; supported options are " + OPTION_KEYS);
    }
    CalibrationConfig d = defaults();
    List<Integer> grid = new ArrayList<>(options.containsKey(K_GRID)
        ? intList(K_GRID, options.get(K_GRID)) : d.kGrid());
    if (options.containsKey(ADDITIONAL_K)) {
      grid.addAll(intList(ADDITIONAL_K, options.get(ADDITIONAL_K)));
    }
    List<Placement> placements = d.placements();
    if (options.containsKey(PLACEMENTS)) {
      placements = new ArrayList<>();
      for (String v : stringList(PLACEMENTS, options.get(PLACEMENTS))) {
        placements.add(enumValue(PLACEMENTS, Placement.class, v));
      }
    }
    EstimatorKind estimator = options.containsKey(ESTIMATOR)
        ? enumValue(ESTIMATOR, EstimatorKind.class, String.valueOf(options.get(ESTIMATOR)))
        : d.estimator();
    return new CalibrationConfig(grid,
        number(options, SIGMA_ADD, d.sigmaAdd()),
        placements,
        integer(options, EXACT_LENGTH_LIMIT, d.exactLengthLimit()),
        integer(options, BUCKETS_PER_OCTAVE, d.bucketsPerOctave()),
        number(options, HISTOGRAM_MIN, d.histogramMin()),
        number(options, HISTOGRAM_MAX, d.histogramMax()),
        integer(options, HISTOGRAM_BINS, d.histogramBins()),
        estimator);
  }

  private static List<String> stringList(String key, Object v) {
    List<String> out = new ArrayList<>();
    if (v instanceof java.util.Collection<?> c) {
      for (Object o : c) {
        out.add(String.valueOf(o).trim());
      }
    } else if (v instanceof String s) {
      for (String part : s.split(",")) {
        if (!part.isBlank()) {
          out.add(part.trim());
        }
      }
    } else if (v instanceof Number) {
      out.add(String.valueOf(v));
    } else {
      throw new IllegalArgumentException("'" + key + "' is set to " + v
          + " but must be a list or a comma-separated string");
    }
    return out;
  }

  private static List<Integer> intList(String key, Object v) {
    List<Integer> out = new ArrayList<>();
    for (String s : stringList(key, v)) {
      try {
        out.add(Integer.parseInt(s));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + key + "' contains " + s
            + " but every k must be an integer > 0");
      }
    }
    return out;
  }

  private static double number(java.util.Map<String, ?> options, String key, double dflt) {
    Object v = options.get(key);
    if (v == null) {
      return dflt;
    }
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    try {
      return Double.parseDouble(String.valueOf(v).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + key + "' is set to " + v + " but must be a number");
    }
  }

  private static int integer(java.util.Map<String, ?> options, String key, int dflt) {
    Object v = options.get(key);
    if (v == null) {
      return dflt;
    }
    try {
      if (v instanceof Number n) {
        if (n.doubleValue() != n.intValue()) {
          throw new NumberFormatException();
        }
        return n.intValue();
      }
      return Integer.parseInt(String.valueOf(v).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + key + "' is set to " + v + " but must be an integer");
    }
  }

  private static <E extends Enum<E>> E enumValue(String key, Class<E> type, String v) {
    for (E e : type.getEnumConstants()) {
      if (e.name().equalsIgnoreCase(v.trim())) {
        return e;
      }
    }
    throw new IllegalArgumentException("'" + key + "' is set to " + v + " but must be one of "
        + Arrays.toString(type.getEnumConstants()));
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
        histogramMin, histogramMax, histogramBins, estimator, histogramsPerK);
  }

  public CalibrationConfig withSigmaAdd(double sigma) {
    return new CalibrationConfig(kGrid, sigma, placements, exactLengthLimit, bucketsPerOctave,
        histogramMin, histogramMax, histogramBins, estimator, histogramsPerK);
  }

  public CalibrationConfig withPlacements(Placement... which) {
    return new CalibrationConfig(kGrid, sigmaAdd, Arrays.asList(which), exactLengthLimit,
        bucketsPerOctave, histogramMin, histogramMax, histogramBins, estimator, histogramsPerK);
  }

  public CalibrationConfig withRowLengths(int exactLimit, int perOctave) {
    return new CalibrationConfig(kGrid, sigmaAdd, placements, exactLimit, perOctave, histogramMin,
        histogramMax, histogramBins, estimator, histogramsPerK);
  }

  public CalibrationConfig withHistogram(double min, double max, int bins) {
    return new CalibrationConfig(kGrid, sigmaAdd, placements, exactLengthLimit, bucketsPerOctave,
        min, max, bins, estimator, histogramsPerK);
  }

  public CalibrationConfig withEstimator(EstimatorKind kind) {
    return new CalibrationConfig(kGrid, sigmaAdd, placements, exactLengthLimit, bucketsPerOctave,
        histogramMin, histogramMax, histogramBins, kind, histogramsPerK);
  }

  /** This config with one histogram per k (for top-k at calibration) or one shared by every k. */
  public CalibrationConfig withHistogramsPerK(boolean perK) {
    return new CalibrationConfig(kGrid, sigmaAdd, placements, exactLengthLimit, bucketsPerOctave,
        histogramMin, histogramMax, histogramBins, estimator, perK);
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
