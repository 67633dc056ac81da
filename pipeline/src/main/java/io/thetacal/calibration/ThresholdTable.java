package io.thetacal.calibration;

import io.thetacal.attention.Placement;
import io.thetacal.attention.ThresholdLookup;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Calibrated thresholds for one placement: θ and the offline-SDC mass per (layer, head, n-bucket, k),
 * derived from a {@link CalibrationState} by an {@link Estimator}. Lookups for a row length whose bucket
 * saw no calibration row with n > k use the nearest calibrated bucket of the same (layer, head, k)
 * ({@link RowLengthIndex#nearestCalibrated}, applied to the bucket's representative length). Immutable
 * and serializable (for broadcasting).
 */
public final class ThresholdTable implements ThresholdLookup, Serializable {
  private static final long serialVersionUID = 1L;

  private final CalibrationGeometry geometry;
  private final RowLengthIndex index;
  private final int[] ks;
  private final Placement placement;
  private final EstimatorKind estimator;
  private final String estimatorParameters;
  private final float[] theta;
  private final double[] sdcMass;
  private final long[] rows;
  private final double[] mean;
  private final double[] std;
  private final int[] resolved;

  private ThresholdTable(CalibrationGeometry geometry, RowLengthIndex index, int[] ks,
      Placement placement, EstimatorKind estimator, String estimatorParameters, float[] theta,
      double[] sdcMass, long[] rows, double[] mean, double[] std) {
    this.geometry = geometry;
    this.index = index;
    this.ks = ks;
    this.placement = placement;
    this.estimator = estimator;
    this.estimatorParameters = estimatorParameters;
    this.theta = theta;
    this.sdcMass = sdcMass;
    this.rows = rows;
    this.mean = mean;
    this.std = std;
    int buckets = index.numBuckets();
    this.resolved = new int[theta.length];
    for (int lh = 0; lh < geometry.numLayers() * geometry.numHeads(); lh++) {
      for (int ki = 0; ki < ks.length; ki++) {
        final int base = lh * buckets;
        final int kk = ki;
        for (int b = 0; b < buckets; b++) {
          resolved[(base + b) * ks.length + ki] = index.nearestCalibrated(index.representative(b),
              x -> this.rows[(base + x) * ks.length + kk] > 0);
        }
      }
    }
  }

  /**
   * Heap bytes of the per-cell arrays of a table for this geometry and config (θ, SDC mass, rows, mean,
   * std and the nearest-bucket map: 40 bytes per (layer, head, bucket, k) cell), without allocating it.
   */
  public static long sizeBytesFor(CalibrationGeometry geometry, CalibrationConfig config) {
    long cells = Math.multiplyExact((long) geometry.numLayers() * geometry.numHeads(),
        (long) config.rowLengthIndex(geometry.maxPositions()).numBuckets() * config.kGrid().size());
    return Math.multiplyExact(cells, 4L + 8 + 8 + 8 + 8 + 4);
  }

  /** Thresholds of one placement from a state, by an estimator. */
  public static ThresholdTable from(CalibrationState state, Placement placement, Estimator estimator) {
    Objects.requireNonNull(placement, "placement");
    Objects.requireNonNull(estimator, "estimator");
    if (!state.config().hasPlacement(placement)) {
      throw new IllegalArgumentException("'placements' is set to " + state.config().placements()
          + " so the state has no " + placement + " statistics");
    }
    CalibrationGeometry g = state.geometry();
    RowLengthIndex index = state.rowLengthIndex();
    int[] ks = state.kGrid();
    int buckets = index.numBuckets();
    int size = g.numLayers() * g.numHeads() * buckets * ks.length;
    float[] theta = new float[size];
    double[] sdc = new double[size];
    long[] rows = new long[size];
    double[] mean = new double[size];
    double[] std = new double[size];
    int i = 0;
    for (int l = 0; l < g.numLayers(); l++) {
      for (int h = 0; h < g.numHeads(); h++) {
        for (int b = 0; b < buckets; b++) {
          for (int ki = 0; ki < ks.length; ki++, i++) {
            Moments m = state.moments(placement, l, h, b, ki);
            rows[i] = m.count();
            if (m.count() == 0) {
              theta[i] = Float.NaN;
              sdc[i] = Double.NaN;
              mean[i] = Double.NaN;
              std[i] = Double.NaN;
            } else {
              java.math.BigDecimal mu = m.mean();
              java.math.BigDecimal sd = m.std();
              theta[i] = estimator instanceof Estimators.MeanStd ms
                  ? Moments.theta(mu, sd, ms.sigmaAdd())
                  : estimator.theta(state, placement, l, h, b, ki);
              mean[i] = mu.doubleValue();
              std[i] = sd.doubleValue();
              sdc[i] = placement == Placement.PRE_SOFTMAX ? state.sdcMass(l, h, b, ki) : Double.NaN;
            }
          }
        }
      }
    }
    return new ThresholdTable(g, index, ks, placement, estimator.kind(), estimator.parameters(),
        theta, sdc, rows, mean, std);
  }

  /**
   * Rebuilds a table from stored cell values (artifact readers). Arrays are indexed
   * [((layer · heads + head) · buckets + bucket) · |k grid| + kIndex]; cells with rows = 0 are
   * uncalibrated and their values are ignored.
   */
  public static ThresholdTable of(CalibrationGeometry geometry, RowLengthIndex index, int[] kGrid,
      Placement placement, EstimatorKind estimator, String estimatorParameters, float[] theta,
      double[] sdcMass, long[] rows, double[] mean, double[] std) {
    int size = geometry.numLayers() * geometry.numHeads() * index.numBuckets() * kGrid.length;
    for (Object a : new Object[] {theta, sdcMass, rows, mean, std}) {
      if (java.lang.reflect.Array.getLength(a) != size) {
        throw new IllegalArgumentException("threshold arrays must have " + size + " cells for "
            + geometry + ", " + index + " and k grid " + Arrays.toString(kGrid) + ", got "
            + java.lang.reflect.Array.getLength(a));
      }
    }
    return new ThresholdTable(geometry, index, kGrid.clone(), placement, estimator,
        estimatorParameters, theta.clone(), sdcMass.clone(), rows.clone(), mean.clone(), std.clone());
  }

  /**
   * This table with every θ of layer l and k index ki shifted by {@code shifts[ki][l]}: pre-softmax
   * θ + shift, post-softmax θ·e^shift (a shift of ln θ), rounded to float. Uncalibrated cells stay NaN;
   * the other columns are unchanged. See {@link DepthCorrection}.
   */
  public ThresholdTable shifted(double[][] shifts) {
    if (shifts.length != ks.length) {
      throw new IllegalArgumentException("shifts for " + shifts.length + " k values but the k grid is "
          + Arrays.toString(ks));
    }
    for (double[] row : shifts) {
      if (row.length != geometry.numLayers()) {
        throw new IllegalArgumentException("shifts for " + row.length + " layers but the model has "
            + geometry.numLayers());
      }
    }
    float[] out = theta.clone();
    int perLayer = geometry.numHeads() * index.numBuckets() * ks.length;
    for (int i = 0; i < out.length; i++) {
      double s = shifts[i % ks.length][i / perLayer];
      out[i] = placement == Placement.PRE_SOFTMAX ? (float) (theta[i] + s)
          : (float) (theta[i] * StrictMath.exp(s));
    }
    return new ThresholdTable(geometry, index, ks, placement, estimator, estimatorParameters, out,
        sdcMass, rows, mean, std);
  }

  @Override
  public Placement placement() {
    return placement;
  }

  public CalibrationGeometry geometry() {
    return geometry;
  }

  public RowLengthIndex rowLengthIndex() {
    return index;
  }

  public int[] kGrid() {
    return ks.clone();
  }

  public EstimatorKind estimator() {
    return estimator;
  }

  public String estimatorParameters() {
    return estimatorParameters;
  }

  /** The position of k in the grid; an error listing the grid when k is not in it. */
  public int kIndex(int k) {
    for (int i = 0; i < ks.length; i++) {
      if (ks[i] == k) {
        return i;
      }
    }
    throw new IllegalArgumentException("k = " + k + " is not in the calibrated k grid "
        + Arrays.toString(ks) + "; use one of those or recalibrate with it added to 'kGrid'");
  }

  private int resolvedCell(int layer, int head, int n, int k) {
    if (layer < 0 || layer >= geometry.numLayers() || head < 0 || head >= geometry.numHeads()) {
      throw new IllegalArgumentException("layer " + layer + ", head " + head
          + " is outside the calibrated geometry " + geometry);
    }
    int ki = kIndex(k);
    int lhb = (layer * geometry.numHeads() + head) * index.numBuckets();
    int b = index.bucketOf(n);
    int rb = resolved[(lhb + b) * ks.length + ki];
    if (rb < 0) {
      throw new IllegalStateException("no calibration row with n > " + k + " was seen for layer "
          + layer + ", head " + head + ": calibrate on longer sequences to threshold k = " + k);
    }
    return (lhb + rb) * ks.length + ki;
  }

  @Override
  public float threshold(int layer, int head, int n, int k) {
    return theta[resolvedCell(layer, head, n, k)];
  }

  @Override
  public double sdcMass(int layer, int head, int n, int k) {
    return sdcMass[resolvedCell(layer, head, n, k)];
  }

  /** The bucket whose values a lookup for (layer, head, n, k) uses; -1 when none is calibrated. */
  public int resolvedBucket(int layer, int head, int n, int k) {
    int lhb = (layer * geometry.numHeads() + head) * index.numBuckets();
    return resolved[(lhb + index.bucketOf(n)) * ks.length + kIndex(k)];
  }

  private int flat(int layer, int head, int bucket, int kIndex) {
    return ((layer * geometry.numHeads() + head) * index.numBuckets() + bucket) * ks.length + kIndex;
  }

  /** θ measured in one cell (no nearest-bucket resolution); NaN when uncalibrated. */
  public float cellTheta(int layer, int head, int bucket, int kIndex) {
    return theta[flat(layer, head, bucket, kIndex)];
  }

  public long cellRows(int layer, int head, int bucket, int kIndex) {
    return rows[flat(layer, head, bucket, kIndex)];
  }

  public double cellSdcMass(int layer, int head, int bucket, int kIndex) {
    return sdcMass[flat(layer, head, bucket, kIndex)];
  }

  public double cellMean(int layer, int head, int bucket, int kIndex) {
    return mean[flat(layer, head, bucket, kIndex)];
  }

  public double cellStd(int layer, int head, int bucket, int kIndex) {
    return std[flat(layer, head, bucket, kIndex)];
  }

  /** Calibrated cells (rows > 0) in (layer, head, bucket, k) order. */
  public List<ThresholdCell> cells() {
    List<ThresholdCell> out = new ArrayList<>();
    int i = 0;
    for (int l = 0; l < geometry.numLayers(); l++) {
      for (int h = 0; h < geometry.numHeads(); h++) {
        for (int b = 0; b < index.numBuckets(); b++) {
          for (int ki = 0; ki < ks.length; ki++, i++) {
            if (rows[i] > 0) {
              out.add(new ThresholdCell(l, h, b, index.lowerBound(b), index.upperBound(b),
                  index.representative(b), ks[ki], theta[i], rows[i], mean[i], std[i], sdcMass[i]));
            }
          }
        }
      }
    }
    return out;
  }

  /** Calibrated cells in the table. */
  public long calibratedCells() {
    return Arrays.stream(rows).filter(r -> r > 0).count();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ThresholdTable t && geometry.equals(t.geometry) && index.equals(t.index)
        && Arrays.equals(ks, t.ks) && placement == t.placement && estimator == t.estimator
        && estimatorParameters.equals(t.estimatorParameters) && Arrays.equals(theta, t.theta)
        && Arrays.equals(sdcMass, t.sdcMass) && Arrays.equals(rows, t.rows)
        && Arrays.equals(mean, t.mean) && Arrays.equals(std, t.std);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(theta) * 31 + Arrays.hashCode(rows);
  }
}
