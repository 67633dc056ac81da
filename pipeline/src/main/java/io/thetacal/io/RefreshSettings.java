package io.thetacal.io;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The refresh job's config file (conf/refresh.yaml): model, output root, calibration datasets and
 * holdout datasets (name → root whose entries are the partitions), the placement published, the gate,
 * retention and the calibration options. Unknown keys and wrong types are refused naming the key.
 *
 * @param model model id or path
 * @param output output root; versions live under {@code <output>/thresholds/}
 * @param datasets calibration dataset name → root (local path or URI)
 * @param textColumn the corpus column holding the text
 * @param holdout holdout dataset name → root, evaluated by the gate, never calibrated on
 * @param placement the placement of the published table
 * @param gate the gate's k and bounds
 * @param retention published versions kept (>= 2; default {@value #RETENTION_DEFAULT})
 * @param seed seed of every random choice (default 0)
 * @param calibration {@link CalibrationConfig#fromOptions} options
 */
public record RefreshSettings(String model, String output, Map<String, String> datasets,
    String textColumn, Map<String, String> holdout, Placement placement, Gate gate, Integer retention,
    Long seed, Map<String, Object> calibration) {

  public static final int RETENTION_DEFAULT = 10;
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

  /**
   * The gate's settings.
   *
   * @param k the k judged on the holdout datasets; must be in the k grid
   * @param maxKeptDeviation bound on |mean kept/k − 1|
   * @param maxQualityLoss bound on the quality loss, as a fraction
   */
  public record Gate(int k, double maxKeptDeviation, double maxQualityLoss) {
  }

  public RefreshSettings {
    require(model, "model");
    require(output, "output");
    if (datasets == null || datasets.isEmpty()) {
      throw new IllegalArgumentException("'datasets' is " + (datasets == null ? "missing" : "empty")
          + " but must map at least one dataset name to its root");
    }
    datasets = Collections.unmodifiableSortedMap(new TreeMap<>(datasets));
    holdout = Collections.unmodifiableSortedMap(new TreeMap<>(holdout == null ? Map.of() : holdout));
    for (String h : holdout.keySet()) {
      if (datasets.containsKey(h)) {
        throw new IllegalArgumentException("'holdout." + h + "' is also a calibration dataset; holdout"
            + " data must not be calibrated on");
      }
    }
    textColumn = textColumn == null ? "text" : textColumn;
    placement = placement == null ? Placement.PRE_SOFTMAX : placement;
    retention = retention == null ? RETENTION_DEFAULT : retention;
    seed = seed == null ? 0L : seed;
    if (retention < 2) {
      throw new IllegalArgumentException("'retention' is set to " + retention
          + " but must be >= 2 (the current version and the one a rollback returns to)");
    }
    calibration = Collections.unmodifiableMap(new TreeMap<>(calibration == null ? Map.of() : calibration));
    CalibrationConfig c = CalibrationConfig.fromOptions(calibration);
    if (!c.hasPlacement(placement)) {
      throw new IllegalArgumentException("'placement' is set to " + placement
          + " but 'calibration.placements' is " + c.placements());
    }
    if (gate != null) {
      if (!holdout.isEmpty() && !c.kGrid().contains(gate.k())) {
        throw new IllegalArgumentException("'gate.k' is set to " + gate.k()
            + " but must be one of 'calibration.kGrid' " + c.kGrid());
      }
      if (holdout.isEmpty()) {
        throw new IllegalArgumentException("'gate' is set but 'holdout' lists no dataset to judge on");
      }
    }
  }

  /** The calibration config the options describe. */
  public CalibrationConfig calibrationConfig() {
    return CalibrationConfig.fromOptions(calibration);
  }

  /** The store under {@link #output}. */
  public Path thresholdsRoot() {
    return Path.of(output).resolve(ThresholdStore.DIRECTORY);
  }

  /**
   * Reads a settings file.
   *
   * @throws IOException naming the file and the key when it is not valid
   */
  public static RefreshSettings read(Path file) throws IOException {
    try {
      return YAML.readValue(file.toFile(), RefreshSettings.class);
    } catch (UnrecognizedPropertyException e) {
      throw new IOException(file + ": '" + e.getPropertyName() + "' is not a refresh setting; known"
          + " settings are " + e.getKnownPropertyIds(), e);
    } catch (JsonMappingException e) {
      Throwable root = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
      String key = e.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName()
          : String.valueOf(r.getIndex())).collect(java.util.stream.Collectors.joining("."));
      String where = key.isEmpty() ? "" : " at '" + key + "'";
      throw new IOException(file + where + ": " + (root == e ? e.getOriginalMessage()
          : root.getMessage()), e);
    }
  }

  private static void require(String v, String key) {
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("'" + key + "' is missing but must be set");
    }
  }
}
