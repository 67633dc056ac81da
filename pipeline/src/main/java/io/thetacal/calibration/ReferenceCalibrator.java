package io.thetacal.calibration;

import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionRow;
import io.thetacal.attention.Placement;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Brute-force, single-threaded calibration used as the oracle for {@link CalibrationState}: it keeps a
 * copy of every row (grouped per layer, head and row length n), finds t_row(k) by sorting the whole
 * row, and sums in {@link BigDecimal}. Memory grows with the corpus; for tests and small corpora only.
 * It shares only the per-value fixed-point definition ({@link Quantization}) with the real state.
 */
public final class ReferenceCalibrator implements AttentionObserver {
  private final CalibrationGeometry geometry;
  private final CalibrationConfig config;
  private final RowLengthIndex index;
  private final Map<List<Integer>, List<StoredRow>> rows = new TreeMap<>(ReferenceCalibrator::compare);

  private record StoredRow(float[] scores, float max, double denominator) {
  }

  /** Statistics of one cell. */
  public record Cell(long rows, float theta, double mean, double std, double sdcMass) {
  }

  public ReferenceCalibrator(CalibrationGeometry geometry, CalibrationConfig config) {
    this.geometry = geometry;
    this.config = config;
    this.index = config.rowLengthIndex(geometry.maxPositions());
  }

  private static int compare(List<Integer> a, List<Integer> b) {
    for (int i = 0; i < a.size(); i++) {
      int c = Integer.compare(a.get(i), b.get(i));
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }

  @Override
  public void onRow(AttentionRow row) {
    float[] copy = Arrays.copyOfRange(row.scores(), row.offset(), row.offset() + row.n());
    rows.computeIfAbsent(List.of(row.layer(), row.head(), row.n()), x -> new ArrayList<>())
        .add(new StoredRow(copy, row.max(), row.denominator()));
  }

  /** Rows kept so far. */
  public long rowCount() {
    return rows.values().stream().mapToLong(List::size).sum();
  }

  /**
   * The cell (layer, head, bucket, k) for a placement: every stored row of the bucket with n > k,
   * t_row(k) = sorted[n − 1 − k] of the ascending-sorted row, θ = mean + σ_add · std (sample std) in
   * {@link MathContext#DECIMAL128}, rounded once to float. Null when the cell has no row.
   */
  public Cell cell(Placement placement, int layer, int head, int bucket, int k) {
    long count = 0;
    BigDecimal s1 = BigDecimal.ZERO;
    BigDecimal s2 = BigDecimal.ZERO;
    BigDecimal mass = BigDecimal.ZERO;
    int bits = placement == Placement.PRE_SOFTMAX ? Quantization.SCORE_BITS
        : Quantization.PROBABILITY_BITS;
    for (int n = index.lowerBound(bucket); n <= index.upperBound(bucket); n++) {
      if (n <= k) {
        continue;
      }
      for (StoredRow r : rows.getOrDefault(List.of(layer, head, n), List.of())) {
        float[] sorted = r.scores().clone();
        Arrays.sort(sorted);
        float t = sorted[n - 1 - k];
        long q = placement == Placement.PRE_SOFTMAX ? Quantization.score(t, layer, head)
            : Quantization.probability(t, r.max(), r.denominator());
        BigDecimal qd = BigDecimal.valueOf(q);
        s1 = s1.add(qd);
        s2 = s2.add(qd.multiply(qd));
        long top = 0;
        for (int i = n - k; i < n; i++) {
          top += Quantization.mass(sorted[i], r.max());
        }
        mass = mass.add(BigDecimal.valueOf(
            Math.max(0, Quantization.denominator(r.denominator()) - top)));
        count++;
      }
    }
    if (count == 0) {
      return null;
    }
    MathContext mc = MathContext.DECIMAL128;
    BigDecimal n = BigDecimal.valueOf(count);
    BigDecimal scale = new BigDecimal(BigInteger.TWO.pow(bits));
    BigDecimal mean = s1.divide(n.multiply(scale), mc);
    BigDecimal std = BigDecimal.ZERO;
    if (count > 1) {
      BigDecimal num = n.multiply(s2).subtract(s1.multiply(s1));
      BigDecimal den = n.multiply(n.subtract(BigDecimal.ONE)).multiply(scale).multiply(scale);
      std = num.divide(den, mc).sqrt(mc);
    }
    float theta = mean.add(new BigDecimal(config.sigmaAdd()).multiply(std, mc), mc).floatValue();
    double sdc = placement == Placement.PRE_SOFTMAX
        ? mass.divide(n.multiply(new BigDecimal(BigInteger.TWO.pow(Quantization.MASS_BITS))), mc)
            .doubleValue()
        : Double.NaN;
    return new Cell(count, theta, mean.doubleValue(), std.doubleValue(), sdc);
  }

  /**
   * The reference's thresholds for a placement as a table, comparable with {@code
   * ThresholdTable.from(state, placement, Estimators.meanStd(sigmaAdd))} through {@code equals}.
   */
  public ThresholdTable toTable(Placement placement) {
    return toTable(placement, EstimatorKind.MEAN_STD);
  }

  /**
   * The kept-count-matching θ of a cell ({@link Estimators#histogramQuantile()}) from the stored rows:
   * every value of every row of the bucket (score, or ln p_j = a_j − m − ln D post-softmax) counted
   * into the configured bins, then the value above which k · (rows of the bucket) of them lie. NaN when
   * the bucket has no row with n > k.
   */
  public float keptCountTheta(Placement placement, int layer, int head, int bucket, int k) {
    int bins = config.histogramBins();
    boolean pre = placement == Placement.PRE_SOFTMAX;
    double lo = pre ? config.histogramMin() : CalibrationState.LOG_PROBABILITY_MIN;
    double hi = pre ? config.histogramMax() : 0;
    long[] counts = new long[bins + 2];
    long total = 0;
    boolean thresholded = false;
    for (int n = index.lowerBound(bucket); n <= index.upperBound(bucket); n++) {
      for (StoredRow r : rows.getOrDefault(List.of(layer, head, n), List.of())) {
        total++;
        thresholded |= n > k;
        double shift = pre ? lo : (double) r.max() + StrictMath.log(r.denominator()) + lo;
        for (float a : r.scores()) {
          double scaled = (a - shift) * (bins / (hi - lo));
          counts[scaled < 0 ? 0 : scaled >= bins ? bins + 1 : (int) scaled + 1]++;
        }
      }
    }
    if (!thresholded) {
      return Float.NaN;
    }
    double q = new ScoreHistogram(lo, hi, counts).scoreWithCountAbove((double) k * total);
    return pre ? (float) q : (float) StrictMath.exp(q);
  }

  /**
   * The reference's thresholds for a placement and estimator as a table, comparable with {@code
   * ThresholdTable.from(state, placement, estimator)} through {@code equals} (σ_add of the config).
   */
  public ThresholdTable toTable(Placement placement, EstimatorKind kind) {
    int[] ks = config.kGrid().stream().mapToInt(Integer::intValue).toArray();
    int size = geometry.numLayers() * geometry.numHeads() * index.numBuckets() * ks.length;
    float[] theta = new float[size];
    double[] sdc = new double[size];
    long[] count = new long[size];
    double[] mean = new double[size];
    double[] std = new double[size];
    int i = 0;
    for (int l = 0; l < geometry.numLayers(); l++) {
      for (int h = 0; h < geometry.numHeads(); h++) {
        for (int b = 0; b < index.numBuckets(); b++) {
          for (int ki = 0; ki < ks.length; ki++, i++) {
            Cell c = cell(placement, l, h, b, ks[ki]);
            theta[i] = c == null ? Float.NaN : kind == EstimatorKind.MEAN_STD ? c.theta()
                : keptCountTheta(placement, l, h, b, ks[ki]);
            sdc[i] = c == null ? Double.NaN : c.sdcMass();
            count[i] = c == null ? 0 : c.rows();
            mean[i] = c == null ? Double.NaN : c.mean();
            std[i] = c == null ? Double.NaN : c.std();
          }
        }
      }
    }
    Estimator e = kind == EstimatorKind.MEAN_STD ? Estimators.meanStd(config.sigmaAdd())
        : Estimators.histogramQuantile();
    return ThresholdTable.of(geometry, index, ks, placement, e.kind(), e.parameters(), theta, sdc,
        count, mean, std);
  }

  public RowLengthIndex rowLengthIndex() {
    return index;
  }

  public CalibrationGeometry geometry() {
    return geometry;
  }
}
