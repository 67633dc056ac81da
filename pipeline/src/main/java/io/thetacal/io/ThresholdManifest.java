package io.thetacal.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.DepthCorrection;
import io.thetacal.calibration.EstimatorKind;
import io.thetacal.calibration.HoldoutCheck;
import io.thetacal.calibration.RowLengthIndex;
import io.thetacal.calibration.ThresholdTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * thresholds.json: everything needed to use and to trust a calibrated threshold table. Provenance
 * (model id and hash, config, corpus fingerprints, code version, created time, seed), the geometry,
 * placement, k grid, estimator, row-length index, counts, the state's size in bytes, the optional
 * holdout check, and the thresholds as arrays {@code thresholds[layer][head][bucket][kIndex]}: the θ a
 * lookup uses for any row length in that bucket (a bucket without calibration rows carries its nearest
 * calibrated bucket's θ; null where no row of the bucket is ever thresholded (n <= k) and where the
 * (layer, head, k) saw no calibration row with n > k at all).
 * {@code sdcMass} has the same shape; {@code rows} holds the calibration rows measured in each cell
 * itself (0 where the value is borrowed).
 *
 * @param formatVersion {@value #FORMAT_VERSION}
 * @param provenance how the thresholds were made
 * @param geometry layers, heads, max positions
 * @param placement where θ applies
 * @param kGrid the k of the last array dimension
 * @param estimator which estimator made θ
 * @param rowLengthIndex the buckets of the third array dimension
 * @param counts rows, elements and cells, plus counts the job adds (e.g. rejected rows)
 * @param stateSizeBytes size of the mergeable state behind the thresholds
 * @param holdout the in-domain check, or null when it was not run
 * @param depthCorrection the per-(k, layer) shifts already applied to the thresholds, fitted with Top-θ
 *     in every layer, or null when none was (absent in files written before it existed)
 * @param thresholds θ per [layer][head][bucket][kIndex]
 * @param sdcMass offline SDC mass per [layer][head][bucket][kIndex] (null for post-softmax)
 * @param rows calibration rows per [layer][head][bucket][kIndex]
 */
public record ThresholdManifest(
    int formatVersion,
    Provenance provenance,
    CalibrationGeometry geometry,
    Placement placement,
    List<Integer> kGrid,
    Estimator estimator,
    Index rowLengthIndex,
    Counts counts,
    long stateSizeBytes,
    HoldoutCheck.Result holdout,
    DepthCorrection depthCorrection,
    Float[][][][] thresholds,
    Double[][][][] sdcMass,
    long[][][][] rows) {

  public static final int FORMAT_VERSION = 1;
  public static final String FILE_NAME = "thresholds.json";

  /** Objects indented for reading, arrays on one line so that the threshold arrays stay compact. */
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .setDefaultPrettyPrinter(new DefaultPrettyPrinter()
          .withArrayIndenter(DefaultPrettyPrinter.NopIndenter.instance))
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

  /** The estimator as recorded: its kind and parameters (e.g. "sigmaAdd=0.1"). */
  public record Estimator(EstimatorKind kind, String parameters) {
  }

  /** The row-length index as recorded: its parameters and every bucket's inclusive bounds. */
  public record Index(int exactLimit, int bucketsPerOctave, int maxPositions, int[] lowerBounds,
      int[] upperBounds) {
    static Index of(RowLengthIndex idx) {
      return new Index(idx.exactLimit(), idx.bucketsPerOctave(), idx.maxPositions(),
          idx.lowerBounds(), idx.upperBounds());
    }

    /** The index these parameters build; an error when the recorded bounds disagree with it. */
    public RowLengthIndex toIndex() {
      RowLengthIndex idx = new RowLengthIndex(exactLimit, bucketsPerOctave, maxPositions);
      if (!Arrays.equals(idx.lowerBounds(), lowerBounds)
          || !Arrays.equals(idx.upperBounds(), upperBounds)) {
        throw new IllegalArgumentException("'rowLengthIndex' bounds do not match its parameters "
            + idx + "; the file was edited or written by incompatible code");
      }
      return idx;
    }
  }

  /**
   * Counts behind the thresholds.
   *
   * @param rowsObserved attention rows seen by calibration (all layers and heads)
   * @param elementsObserved Σ n over those rows
   * @param cells (layer, head, bucket, k) cells of the table
   * @param calibratedCells cells with at least one calibration row
   * @param other further counts by name (sequences, tokens, rejected rows, ...)
   */
  public record Counts(long rowsObserved, long elementsObserved, long cells, long calibratedCells,
      Map<String, Long> other) {
    public Counts {
      other = other == null ? Map.of() : java.util.Collections.unmodifiableSortedMap(
          new TreeMap<>(other));
    }
  }

  /**
   * The manifest of a table derived from a state.
   *
   * @param otherCounts counts the caller adds (may be empty)
   * @param holdout the holdout check, or null
   */
  public static ThresholdManifest of(ThresholdTable table, CalibrationState state,
      Provenance provenance, Map<String, Long> otherCounts, HoldoutCheck.Result holdout) {
    return of(table, state, provenance, otherCounts, holdout, null);
  }

  /**
   * The manifest of a table derived from a state and then shifted by a depth correction.
   *
   * @param otherCounts counts the caller adds (may be empty)
   * @param holdout the holdout check, or null
   * @param depthCorrection the correction applied to the table, or null when none was
   */
  public static ThresholdManifest of(ThresholdTable table, CalibrationState state,
      Provenance provenance, Map<String, Long> otherCounts, HoldoutCheck.Result holdout,
      DepthCorrection depthCorrection) {
    if (!provenance.config().equals(state.config())) {
      throw new IllegalArgumentException("provenance config " + provenance.config()
          + " differs from the state's config " + state.config());
    }
    if (!table.geometry().equals(state.geometry())
        || !table.rowLengthIndex().equals(state.rowLengthIndex())) {
      throw new IllegalArgumentException("the table and the state differ in geometry or row lengths");
    }
    CalibrationGeometry g = table.geometry();
    RowLengthIndex idx = table.rowLengthIndex();
    int[] ks = table.kGrid();
    int buckets = idx.numBuckets();
    Float[][][][] theta = new Float[g.numLayers()][g.numHeads()][buckets][ks.length];
    Double[][][][] sdc = new Double[g.numLayers()][g.numHeads()][buckets][ks.length];
    long[][][][] rows = new long[g.numLayers()][g.numHeads()][buckets][ks.length];
    for (int l = 0; l < g.numLayers(); l++) {
      for (int h = 0; h < g.numHeads(); h++) {
        for (int b = 0; b < buckets; b++) {
          for (int ki = 0; ki < ks.length; ki++) {
            rows[l][h][b][ki] = table.cellRows(l, h, b, ki);
            int rb = idx.upperBound(b) <= ks[ki] ? -1
                : table.resolvedBucket(l, h, idx.representative(b), ks[ki]);
            if (rb >= 0) {
              theta[l][h][b][ki] = table.cellTheta(l, h, rb, ki);
              double m = table.cellSdcMass(l, h, rb, ki);
              sdc[l][h][b][ki] = Double.isNaN(m) ? null : m;
            }
          }
        }
      }
    }
    long cells = (long) g.numLayers() * g.numHeads() * buckets * ks.length;
    return new ThresholdManifest(FORMAT_VERSION, provenance, g, table.placement(),
        Arrays.stream(ks).boxed().toList(),
        new Estimator(table.estimator(), table.estimatorParameters()), Index.of(idx),
        new Counts(state.rowsObserved(), state.elementsObserved(), cells, table.calibratedCells(),
            otherCounts),
        state.sizeBytes(), holdout, depthCorrection, theta, sdc, rows);
  }

  /**
   * A lookup table from the stored arrays: same θ and SDC mass for every (layer, head, n, k) as the
   * table the manifest was written from (mean and std are not stored here and come back as NaN).
   */
  public ThresholdTable toTable() {
    RowLengthIndex idx = rowLengthIndex.toIndex();
    int[] ks = kGrid.stream().mapToInt(Integer::intValue).toArray();
    int size = geometry.numLayers() * geometry.numHeads() * idx.numBuckets() * ks.length;
    float[] theta = new float[size];
    double[] sdc = new double[size];
    long[] r = new long[size];
    double[] nan = new double[size];
    Arrays.fill(nan, Double.NaN);
    int i = 0;
    for (int l = 0; l < geometry.numLayers(); l++) {
      for (int h = 0; h < geometry.numHeads(); h++) {
        for (int b = 0; b < idx.numBuckets(); b++) {
          for (int ki = 0; ki < ks.length; ki++, i++) {
            r[i] = rows[l][h][b][ki];
            Float t = thresholds[l][h][b][ki];
            Double m = sdcMass[l][h][b][ki];
            if (r[i] > 0 && t == null) {
              throw new IllegalArgumentException("'thresholds[" + l + "][" + h + "][" + b + "][" + ki
                  + "]' is null but the cell has " + r[i] + " calibration rows");
            }
            theta[i] = r[i] > 0 ? t : Float.NaN;
            sdc[i] = r[i] > 0 && m != null ? m : Double.NaN;
          }
        }
      }
    }
    return ThresholdTable.of(geometry, idx, ks, placement, estimator.kind(), estimator.parameters(),
        theta, sdc, r, nan, nan);
  }

  /** The manifest as JSON text. */
  public String toJson() {
    try {
      return MAPPER.writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the threshold manifest as JSON", e);
    }
  }

  /** Writes the manifest to a file. */
  public void write(Path file) throws IOException {
    Files.writeString(file, toJson());
  }

  /**
   * Reads and checks a manifest.
   *
   * @throws IOException naming the file when it is not a readable manifest of a supported version
   */
  public static ThresholdManifest read(Path file) throws IOException {
    ThresholdManifest m;
    try {
      m = MAPPER.readValue(file.toFile(), ThresholdManifest.class);
    } catch (JsonProcessingException e) {
      throw new IOException(file + " is not a valid threshold manifest: " + e.getOriginalMessage(), e);
    }
    if (m.formatVersion != FORMAT_VERSION) {
      throw new IOException(file + " has 'formatVersion' " + m.formatVersion
          + " but this build reads version " + FORMAT_VERSION);
    }
    try {
      m.checkShape();
    } catch (RuntimeException e) {
      throw new IOException(file + " is not a consistent threshold manifest: " + e.getMessage(), e);
    }
    return m;
  }

  private void checkShape() {
    Objects.requireNonNull(provenance, "'provenance' is missing");
    Objects.requireNonNull(geometry, "'geometry' is missing");
    Objects.requireNonNull(placement, "'placement' is missing");
    Objects.requireNonNull(kGrid, "'kGrid' is missing");
    Objects.requireNonNull(estimator, "'estimator' is missing");
    Objects.requireNonNull(rowLengthIndex, "'rowLengthIndex' is missing");
    int buckets = rowLengthIndex.toIndex().numBuckets();
    int[] shape = {geometry.numLayers(), geometry.numHeads(), buckets, kGrid.size()};
    checkShape("thresholds", thresholds, shape, 0);
    checkShape("sdcMass", sdcMass, shape, 0);
    checkShape("rows", rows, shape, 0);
  }

  private static void checkShape(String name, Object array, int[] shape, int dim) {
    if (array == null || java.lang.reflect.Array.getLength(array) != shape[dim]) {
      throw new IllegalArgumentException("'" + name + "' must have " + shape[dim]
          + " entries in dimension " + dim + " (layers, heads, buckets, k)");
    }
    if (dim < 3) {
      for (int i = 0; i < shape[dim]; i++) {
        checkShape(name, java.lang.reflect.Array.get(array, i), shape, dim + 1);
      }
    }
  }
}
