package io.thetacal.calibration;

import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionRow;
import io.thetacal.attention.OrderStatistics;
import io.thetacal.attention.Placement;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;

/**
 * THE mergeable calibration statistic, sized by the model geometry and the config only, never by the
 * corpus. Per (layer, head, n-bucket, k) it keeps, for rows with n > k: the row count, Σt and Σt² of
 * t_row(k) = the (k+1)-th largest score (pre-softmax, in score units, and/or post-softmax, in
 * probability units), and, for pre-softmax, Σ of the pruned mass D − Σ_{j∈S} e^{a_j − m} where S is the
 * row's top-k set at calibration (the k largest scores; which of tied scores is in S does not change the
 * mass) and D the row's dense softmax denominator. Per (layer, head, n-bucket) it keeps a score
 * histogram with fixed edges and, when post-softmax is measured, a histogram of the log-probabilities
 * ln p_j = a_j − m − ln D with fixed edges [{@value #LOG_PROBABILITY_MIN}, 0): the pooled counts from
 * which the kept-count-matching estimator ({@link Estimators#histogramQuantile()}) reads θ.
 *
 * <p>All sums are exact integers of fixed-point values ({@link Quantization}) in 128 bits, so merged
 * states are bitwise identical whatever the partitioning and merge order; overflow raises an error
 * instead of wrapping. {@link #update} is an {@link AttentionObserver}: pass the state to an
 * {@code AttentionKernel}. Not thread-safe: one state per task, merged afterwards.
 */
public final class CalibrationState implements AttentionObserver, java.io.Serializable {
  private static final long serialVersionUID = 1L;
  /** "TCST". */
  public static final int MAGIC = 0x54435354;
  /** 2: log-probability histograms for post-softmax (version 1 states are refused). */
  public static final int FORMAT_VERSION = 2;
  /** Lower edge of the log-probability histograms (upper edge 0: ln p <= 0). */
  public static final double LOG_PROBABILITY_MIN = -32;
  /** Bit of the serialized placement mask that marks per-k histograms. */
  private static final int PER_K_FLAG = 1 << 16;
  /** The largest state this type can hold (the largest Java byte array, less header room). */
  public static final long MAX_STATE_BYTES = Integer.MAX_VALUE - 64;
  /** States larger than this do not {@link #fork}: 64 MiB. */
  public static final long MAX_FORK_BYTES = 64L << 20;
  /**
   * Whether the top-k masses and the rows' bins are computed on the Vector API ({@link VectorMasses},
   * {@link VectorRowBins}; the same values);
   * off without the incubator module or with {@code -Dthetacal.calibration.scalar=true}.
   */
  static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
      && !Boolean.getBoolean("thetacal.calibration.scalar");
  /** Scratch bytes per visible key: float[2n], float[n], int[n], int[2n], long[n + 1], long[n], double[n]. */
  public static final int SCRATCH_BYTES_PER_POSITION = 48;
  /** Bins of the row-local selection when histograms are off. */
  private static final int SELECTION_BINS = 64;
  /** Sub-bins per bin, as a power of two, that split large bins during the selection. */
  private static final int SUB_BITS = RowBins.SUB_BITS;
  private static final int SUB_MASK = (1 << SUB_BITS) - 1;

  private final CalibrationGeometry geometry;
  private final CalibrationConfig config;
  private final RowLengthIndex index;
  private final int[] ks;
  private final int numBuckets;
  private final int stride;
  private final int preOffset;
  private final int postOffset;
  private final int bins;
  private final double histMin;
  private final double binsPerUnit;
  private final long[] cells;
  private final long[] histRows;
  private final long[] hist;
  private final long[] logHist;
  private final double logBinsPerUnit;
  /** |k grid| with histogramsPerK, else 1. */
  private final int histK;
  /**
   * Histogram slots of each bucket: with histogramsPerK one per k below the bucket's longest row (the
   * k the bucket is thresholded at; longer k never see a row of it), else 1.
   */
  private final int[] histKOf;
  /** First slot of each bucket within a (layer, head). */
  private final int[] histBucketStart;
  /** Histogram slots per (layer, head). */
  private final int histPerHead;
  private long rowsObserved;
  private long elementsObserved;
  /** Bins of the row-local selection: the histogram's when it has any, else this many on its range. */
  private final int selBins;
  private transient float[] scratch = new float[0];
  private transient float[] small = new float[0];
  /** Per position of the row: first its log-probability slots, then its score codes. */
  private transient int[] codeOfScore = new int[0];
  private transient int[] codeAt = new int[0];
  private transient long[] suffix = new long[1];
  /** Scratch of the quantized masses, and of their scores' offsets from the row max. */
  private transient long[] massAt = new long[0];
  private transient double[] shifted = new double[0];
  private final transient int[] subCount = new int[1 << SUB_BITS];
  private final transient int[] kBinOf;
  private final transient int[] binCount;
  private final transient int[] binEnd;
  private final transient int[] binCount4;
  private final transient float[] kValue;
  private final transient long[] kTop;
  /** Cleared states that forks used, for the next forks; touched only by the forward pass's thread. */
  private transient java.util.ArrayDeque<CalibrationState> spares;
  /**
   * One bit per (layer, head, n-bucket) that an update since the last {@link #join} wrote to (its cells
   * and histogram slots), so that joining a fork adds and clears only those blocks: a batch of one
   * length touches one bucket of each head, a small part of the state.
   */
  private final transient long[] touched;

  public CalibrationState(CalibrationGeometry geometry, CalibrationConfig config) {
    this.geometry = java.util.Objects.requireNonNull(geometry, "geometry");
    this.config = java.util.Objects.requireNonNull(config, "config");
    long size = sizeBytesFor(geometry, config);
    if (size > MAX_STATE_BYTES) {
      throw new IllegalArgumentException("a calibration state for " + geometry + " with this config "
          + "would take " + size + " bytes, more than the " + MAX_STATE_BYTES + " one state can hold; "
          + "lower 'histogramBins' or 'bucketsPerOctave', or shorten 'kGrid'");
    }
    this.index = config.rowLengthIndex(geometry.maxPositions());
    this.ks = config.kGrid().stream().mapToInt(Integer::intValue).toArray();
    this.numBuckets = index.numBuckets();
    boolean pre = config.hasPlacement(Placement.PRE_SOFTMAX);
    boolean post = config.hasPlacement(Placement.POST_SOFTMAX);
    this.preOffset = pre ? 1 : -1;
    this.postOffset = post ? (pre ? 7 : 1) : -1;
    this.stride = strideFor(config);
    this.bins = config.histogramBins();
    this.histMin = config.histogramMin();
    this.selBins = bins > 0 ? bins : SELECTION_BINS;
    this.binsPerUnit = selBins / (config.histogramMax() - config.histogramMin());
    this.binCount = new int[selBins + 2];
    this.binEnd = new int[selBins + 2];
    this.binCount4 = new int[4 * (selBins + 2)];
    this.kValue = new float[ks.length];
    this.kTop = new long[ks.length];
    this.kBinOf = new int[ks.length];
    long headBuckets = (long) geometry.numLayers() * geometry.numHeads() * numBuckets;
    this.histK = config.histogramsPerK() ? ks.length : 1;
    this.histKOf = histogramSlots(index, config);
    this.histBucketStart = new int[numBuckets];
    int start = 0;
    for (int b = 0; b < numBuckets; b++) {
      histBucketStart[b] = start;
      start += histKOf[b];
    }
    this.histPerHead = start;
    long slots = (long) geometry.numLayers() * geometry.numHeads() * histPerHead;
    this.cells = new long[Math.toIntExact(headBuckets * ks.length * stride)];
    this.histRows = new long[bins == 0 ? 0 : Math.toIntExact(slots)];
    this.hist = new long[bins == 0 ? 0 : Math.toIntExact(slots * (bins + 2))];
    this.logHist = new long[bins == 0 || !post ? 0 : Math.toIntExact(slots * (bins + 2))];
    this.logBinsPerUnit = bins / -LOG_PROBABILITY_MIN;
    this.touched = new long[Math.toIntExact((headBuckets + 63) / 64)];
  }

  /** Histogram slots per bucket (see {@link #histKOf}). */
  private static int[] histogramSlots(RowLengthIndex index, CalibrationConfig config) {
    int[] out = new int[index.numBuckets()];
    for (int b = 0; b < out.length; b++) {
      if (!config.histogramsPerK()) {
        out[b] = 1;
        continue;
      }
      for (int k : config.kGrid()) {
        out[b] += k < index.upperBound(b) ? 1 : 0;
      }
    }
    return out;
  }

  private static int strideFor(CalibrationConfig config) {
    return 1 + (config.hasPlacement(Placement.PRE_SOFTMAX) ? 6 : 0)
        + (config.hasPlacement(Placement.POST_SOFTMAX) ? 4 : 0);
  }

  private static int headerBytes(CalibrationConfig config) {
    return 4 * 11 + 4 * config.kGrid().size() + 8 * 4 + 8 * 2;
  }

  /**
   * The exact serialized size, in bytes, of a state for this geometry and config (the heap footprint is
   * the same plus a small constant): 8 bytes per long of (layers · heads · buckets) ·
   * (|k grid| · (1 + 6 per pre-softmax + 4 per post-softmax) + 1 + histogram bins + 2, plus another
   * histogram bins + 2 with post-softmax; the histogram part once per k with histogramsPerK), plus a
   * header.
   * Computed without allocating the state.
   */
  public static long sizeBytesFor(CalibrationGeometry geometry, CalibrationConfig config) {
    RowLengthIndex index = config.rowLengthIndex(geometry.maxPositions());
    long heads = (long) geometry.numLayers() * geometry.numHeads();
    long slots = 0;
    for (int n : histogramSlots(index, config)) {
      slots += n;
    }
    long perSlot = (config.histogramBins() == 0 ? 0 : 1 + config.histogramBins() + 2L)
        + (config.histogramBins() == 0 || !config.hasPlacement(Placement.POST_SOFTMAX) ? 0
            : config.histogramBins() + 2L);
    long perHead = (long) index.numBuckets() * config.kGrid().size() * strideFor(config) + slots * perSlot;
    return headerBytes(config) + 8 * Math.multiplyExact(heads, perHead) + 8;
  }

  /** The serialized size of this state in bytes; equal to {@link #sizeBytesFor} of its settings. */
  public long sizeBytes() {
    return headerBytes(config) + 8L * (cells.length + histRows.length + hist.length + logHist.length) + 8;
  }

  /**
   * The largest per-row scratch an update allocates, in bytes: {@value #SCRATCH_BYTES_PER_POSITION} per
   * visible key (scores and their bin codes laid out by bin, with room for the bins below the lowest
   * rank, a copy for the selection, and the quantized masses with their suffix sums), plus 8.
   */
  public static long scratchBytesFor(CalibrationGeometry geometry) {
    return SCRATCH_BYTES_PER_POSITION * geometry.maxPositions() + 8;
  }

  public CalibrationGeometry geometry() {
    return geometry;
  }

  public CalibrationConfig config() {
    return config;
  }

  public RowLengthIndex rowLengthIndex() {
    return index;
  }

  /** Every attention row observed, including rows too short for any k. */
  public long rowsObserved() {
    return rowsObserved;
  }

  /** Σ n over every attention row observed. */
  public long elementsObserved() {
    return elementsObserved;
  }

  @Override
  public void onRow(AttentionRow row) {
    update(row);
  }

  /**
   * A spare state of the same geometry and config for rows seen on another thread, merged back by
   * {@link #join}: the statistics are sums, so the result is the same bits as one state seeing every row.
   * Null for a state above {@value #MAX_FORK_BYTES} bytes, whose copy would cost more memory than the
   * engine's second thread is worth.
   */
  @Override
  public AttentionObserver fork() {
    return new Pass(this, this, -1, null).fork();
  }

  @Override
  public void join(AttentionObserver forked) {
    if (!(forked instanceof Pass p) || p.root != this || p.into == this) {
      throw new IllegalArgumentException("not a fork of this calibration state: " + forked);
    }
    takeTouched(p.into);
    spares.push(p.into);
  }

  /**
   * Adds the blocks a fork touched into this state and clears them in the fork, which is then empty: a
   * {@link #merge} restricted to the blocks that can be non-zero, with the same sums.
   */
  private void takeTouched(CalibrationState fork) {
    int perBlock = ks.length * stride;
    int w = bins + 2;
    long[] bitsOf = fork.touched;
    for (int word = 0; word < bitsOf.length; word++) {
      for (long bits = bitsOf[word]; bits != 0; bits &= bits - 1) {
        int lhb = word * 64 + Long.numberOfTrailingZeros(bits);
        int c = lhb * perBlock;
        addCells(c, c + perBlock, java.nio.LongBuffer.wrap(fork.cells, c, perBlock));
        Arrays.fill(fork.cells, c, c + perBlock, 0L);
        int b = lhb % numBuckets;
        int first = lhb / numBuckets * histPerHead + histBucketStart[b];
        int last = first + histKOf[b];
        take(histRows, fork.histRows, first, last);
        take(hist, fork.hist, first * w, last * w);
        take(logHist, fork.logHist, first * w, last * w);
      }
      bitsOf[word] = 0;
    }
    rowsObserved = Math.addExact(rowsObserved, fork.rowsObserved);
    elementsObserved = Math.addExact(elementsObserved, fork.elementsObserved);
    fork.rowsObserved = 0;
    fork.elementsObserved = 0;
  }

  private CalibrationState spare() {
    if (sizeBytes() > MAX_FORK_BYTES) {
      return null;
    }
    if (spares == null) {
      spares = new java.util.ArrayDeque<>();
    }
    return spares.isEmpty() ? new CalibrationState(geometry, config) : spares.pop();
  }

  /**
   * The rows of one kind of pass (all statistics; or one k, and placement, of top-k at calibration) into
   * {@code into}, which is {@code root} itself or a spare of it that {@link #join} merges into root.
   */
  private static final class Pass implements AttentionObserver {
    private final CalibrationState root;
    private final CalibrationState into;
    private final int onlyK;
    private final Placement only;

    Pass(CalibrationState root, CalibrationState into, int onlyK, Placement only) {
      this.root = root;
      this.into = into;
      this.onlyK = onlyK;
      this.only = only;
    }

    @Override
    public void onRow(AttentionRow row) {
      into.update(row, onlyK, only);
    }

    @Override
    public AttentionObserver fork() {
      CalibrationState s = root.spare();
      return s == null ? null : new Pass(root, s, onlyK, only);
    }

    @Override
    public void join(AttentionObserver forked) {
      root.join(forked);
    }
  }

  /** Adds one attention row (scores before pruning, with the row's max and dense denominator). */
  public void update(AttentionRow row) {
    update(row, -1, null);
  }

  /**
   * An observer for top-k at calibration (TAC): the forward pass for one k of the grid runs every layer
   * with exact top-k, and each captured row updates only that k's statistics. Row counts and score
   * histograms are updated by the observer of the grid's first k only, so that running one pass per k
   * counts every row once. Where the kernel shows its top-k selection of the row
   * ({@link AttentionRow#selectedK()} = k), the observer reads t_row(k) and the top-k mass from it instead
   * of selecting again (the same values).
   *
   * @throws IllegalArgumentException when k is not in the grid
   */
  public AttentionObserver observerForK(int k) {
    return new Pass(this, this, kIndexOf(k), null);
  }

  /**
   * An observer for top-k at calibration with one set of passes per placement: the pass for k runs
   * every layer with the top-k of that placement ({@link AttentionMode#topK(int, Placement)}) and each
   * captured row updates only that k's statistics of that placement (pre-softmax: score moments, pruned
   * mass and score histogram; post-softmax: probability moments and log-probability histogram). Row
   * counts are updated by the passes of the config's first placement only, so that running every
   * placement's passes counts every row once.
   *
   * @throws IllegalArgumentException when k is not in the grid or the placement is not calibrated
   */
  public AttentionObserver observerForK(int k, Placement placement) {
    int ki = kIndexOf(k);
    if (!config.hasPlacement(placement)) {
      throw new IllegalArgumentException("placement " + placement + " is not in the calibrated "
          + "'placements' " + config.placements());
    }
    return new Pass(this, this, ki, placement);
  }

  private int kIndexOf(int k) {
    int ki = java.util.Arrays.binarySearch(ks, k);
    if (ki < 0) {
      throw new IllegalArgumentException("k " + k + " is not in the calibrated k grid "
          + java.util.Arrays.toString(ks));
    }
    return ki;
  }

  private void update(AttentionRow row, int onlyK, Placement only) {
    int layer = row.layer();
    int head = row.head();
    int n = row.n();
    if (layer < 0 || layer >= geometry.numLayers() || head < 0 || head >= geometry.numHeads()) {
      throw new IllegalArgumentException("row of layer " + layer + ", head " + head
          + " is outside the calibrated geometry " + geometry);
    }
    int b = index.bucketOf(n);
    float[] a = row.scores();
    int off = row.offset();
    int lh = layer * geometry.numHeads() + head;
    int lhb = lh * numBuckets + b;
    touched[lhb >>> 6] |= 1L << lhb;
    // counts come from the passes of the first placement; each placement's sums from its own passes
    boolean owner = only == null || only == config.placements().get(0);
    boolean doPre = preOffset >= 0 && (only == null || only == Placement.PRE_SOFTMAX);
    boolean doPost = postOffset >= 0 && (only == null || only == Placement.POST_SOFTMAX);
    boolean shared = onlyK <= 0 && owner;
    if (shared) {
      rowsObserved++;
      elementsObserved += n;
    }
    int kc = 0;
    while (kc < ks.length && ks[kc] < n) {
      kc++;
    }
    // the k indices this call records: all of them, or only onlyK
    int kFirst = onlyK < 0 ? 0 : onlyK;
    int kLast = onlyK < 0 ? kc - 1 : onlyK;
    boolean select = kFirst <= kLast && kLast < kc;
    // histogram slots this call fills: with one histogram per k, a pass for one k fills its own and a
    // dense pass every k's; with one per (layer, head, bucket), only the first k's (or a dense) pass
    int hb = lh * histPerHead + histBucketStart[b];
    int hFirst = hb + (histK == 1 || onlyK < 0 ? 0 : onlyK);
    int hLast = histK == 1 ? (onlyK <= 0 ? hb : hb - 1) : (onlyK < 0 ? hb + histKOf[b] - 1
        : onlyK < histKOf[b] ? hb + onlyK : hb - 1);
    if (bins == 0) {
      hLast = hFirst - 1;
    }
    // the score histogram belongs to the pre-softmax passes (or the first placement's without them), the
    // log-probability histogram to the post-softmax ones
    boolean histogram = hFirst <= hLast && (doPre || (preOffset < 0 && owner));
    if (small.length < n) {
      int size = Math.max(n, Math.min(2 * small.length, geometry.maxPositions()));
      scratch = new float[2 * size];
      small = new float[size];
      codeOfScore = new int[size];
      codeAt = new int[2 * size];
      suffix = new long[size + 1];
      massAt = new long[size];
      shifted = new double[size];
    }
    if (hFirst <= hLast && doPost && logHist.length > 0) {
      // log-probabilities need the row's max and denominator: not served by the fused score bins
      addToLogHistograms(row, hFirst, hLast);
    }
    if (owner) {
      for (int h = hFirst; h <= hLast; h++) {
        histRows[h]++;
      }
    }
    int[] code = codeOfScore;
    // a pass for one k whose attention kernel already selected that k's top-k from the row
    boolean selected = select && kFirst == kLast && row.selectedK() == ks[kFirst];
    if (!select || selected) {
      if (histogram) {
        RowBins.scoreCodes(a, off, n, histMin, binsPerUnit, selBins, code);
        for (int h = hFirst; h <= hLast; h++) {
          int base = h * (bins + 2);
          for (int j = 0; j < n; j++) {
            hist[base + (code[j] >>> SUB_BITS)]++;
          }
        }
      }
      if (selected) {
        recordSelected(row, kFirst, lhb, owner, doPre, doPost);
      }
      return;
    }
    int[] cnt = binCount;
    RowBins.scoreCodes(a, off, n, histMin, binsPerUnit, selBins, code);
    int lowCode = Integer.MAX_VALUE;
    int highCode = 0;
    for (int j = 0; j < n; j++) {
      lowCode = Math.min(lowCode, code[j]);
      highCode = Math.max(highCode, code[j]);
    }
    // codes are >= 0 and monotone in the score, so their bins' extremes are the extremes' bins
    int lowBin = lowCode >>> SUB_BITS;
    int highBin = highCode >>> SUB_BITS;
    // four interleaved counters, so that runs of one bin do not wait on each other's increments
    int[] c4 = binCount4;
    int w = selBins + 2;
    int j = 0;
    for (; j + 3 < n; j += 4) {
      c4[code[j] >>> SUB_BITS]++;
      c4[w + (code[j + 1] >>> SUB_BITS)]++;
      c4[2 * w + (code[j + 2] >>> SUB_BITS)]++;
      c4[3 * w + (code[j + 3] >>> SUB_BITS)]++;
    }
    for (; j < n; j++) {
      c4[code[j] >>> SUB_BITS]++;
    }
    for (int i = lowBin; i <= highBin; i++) {
      cnt[i] = c4[i] + c4[w + i] + c4[2 * w + i] + c4[3 * w + i];
      c4[i] = 0;
      c4[w + i] = 0;
      c4[2 * w + i] = 0;
      c4[3 * w + i] = 0;
    }
    if (histogram) {
      for (int h = hFirst; h <= hLast; h++) {
        int base = h * (bins + 2);
        for (int i = lowBin; i <= highBin; i++) {
          hist[base + i] += cnt[i];
        }
      }
    }
    selectAndRecord(row, a, off, n, kFirst, kLast, lhb, lowBin, highBin, owner, doPre, doPost);
    Arrays.fill(cnt, lowBin, highBin + 1, 0);
  }

  /**
   * The order statistics of one row for k indices kFirst .. kLast, and their cells' updates, from the
   * bins counted by {@link #update}. The scores are laid out bin by bin in ascending bin order (bins are
   * monotone in the score; bins below the one of the lowest rank needed are left out), so the (k+1)-th largest t lies in the bin whose range of positions holds
   * n - 1 - k and is selected within that bin alone ({@link #selectInBin}). The top-k mass is then the
   * mass of every bin above, plus the scores of t's bin above t, plus as many copies of t's mass as
   * ties fill up to k: the same sum of quantized masses as any top-k set gives.
   */
  private void selectAndRecord(AttentionRow row, float[] a, int off, int n, int kFirst, int kLast,
      int lhb, int lowBin, int highBin, boolean owner, boolean doPre, boolean doPost) {
    int[] code = codeOfScore;
    int[] cnt = binCount;
    int[] at = binEnd;
    int[] sc = codeAt;
    float[] s = scratch;
    int pos = 0;
    for (int i = lowBin; i <= highBin; i++) {
      at[i] = pos;
      pos += cnt[i];
    }
    // bins below the one of the lowest rank needed are never looked at: their scores go past n
    int lowest = n - 1 - ks[kLast];
    int needed = highBin;
    while (at[needed] > lowest) {
      needed--;
    }
    for (int i = lowBin; i < needed; i++) {
      at[i] = n;
    }
    for (int j = 0; j < n; j++) {
      int c = code[j];
      int p = at[c >>> SUB_BITS]++;
      s[p] = a[off + j];
      sc[p] = c;
    }
    float[] t = kValue;
    int[] kBin = kBinOf;
    for (int ki = kFirst; ki <= kLast; ki++) {
      int idx = n - 1 - ks[ki];
      int i = highBin;
      while (at[i] - cnt[i] > idx) {
        i--;
      }
      kBin[ki] = i;
      t[ki] = selectInBin(at[i] - cnt[i], at[i], idx);
    }
    float m = row.max();
    long[] top = kTop;
    if (doPre) {
      long[] suf = suffix;
      // the lowest bin's scores >= the lowest t to its end, so that only they need a mass
      int low = kBin[kLast];
      int from = splitAt(at[low] - cnt[low], at[low], t[kLast]);
      long sum = 0;
      suf[n] = 0;
      long[] qs = massAt;
      masses(s, from, n, m);
      for (int p = n - 1; p >= from; p--) {
        sum += qs[p];
        suf[p] = sum;
      }
      for (int ki = kFirst; ki <= kLast; ki++) {
        int i = kBin[ki];
        int end = at[i];
        float tk = t[ki];
        long mass = suf[end];
        int above = n - end;
        long tieMass = 0;
        for (int p = Math.max(from, end - cnt[i]); p < end; p++) {
          float v = s[p];
          long q = suf[p] - suf[p + 1];
          mass += v > tk ? q : 0;
          above += v > tk ? 1 : 0;
          tieMass = v == tk ? q : tieMass;
        }
        top[ki] = mass + (ks[ki] - above) * tieMass;
      }
    }
    record(row, kFirst, kLast, lhb, owner, doPre, doPost);
  }

  /**
   * The order statistic and top-k mass of k index ki from the selection the attention kernel made for
   * the row's exact top-k ({@link AttentionRow#selected}): the (k+1)-th largest score, and the top-k mass
   * as the sum of the kept scores' quantized masses. The same values as {@link #selectAndRecord} finds
   * from the row alone.
   */
  private void recordSelected(AttentionRow row, int ki, int lhb, boolean owner, boolean doPre,
      boolean doPost) {
    float[] s = row.selected();
    int n = row.n();
    int rest = n - ks[ki];
    kValue[ki] = s[rest - 1];
    if (doPre) {
      long[] qs = massAt;
      masses(s, rest, n, row.max());
      long sum = 0;
      for (int q = rest; q < n; q++) {
        sum += qs[q];
      }
      kTop[ki] = sum;
    }
    record(row, ki, ki, lhb, owner, doPre, doPost);
  }

  /** {@link #massAt}[p] = {@link Quantization#mass}(s[p], max) for p in [from, to). */
  private void masses(float[] s, int from, int to, float max) {
    if (VECTOR) {
      VectorMasses.masses(s, from, to, max, shifted, massAt);
    } else {
      for (int p = from; p < to; p++) {
        massAt[p] = Quantization.mass(s[p], max);
      }
    }
  }

  /** Adds the order statistics and top-k masses of k indices kFirst .. kLast to their cells. */
  private void record(AttentionRow row, int kFirst, int kLast, int lhb, boolean owner, boolean doPre,
      boolean doPost) {
    float[] t = kValue;
    long[] top = kTop;
    float m = row.max();
    double d = row.denominator();
    long dq = doPre ? Quantization.denominator(d) : 0;
    int layer = row.layer();
    int head = row.head();
    for (int ki = kFirst; ki <= kLast; ki++) {
      int c = (lhb * ks.length + ki) * stride;
      if (owner) {
        cells[c]++;
      }
      if (doPre) {
        long q = Quantization.score(t[ki], layer, head);
        Int128.add(cells, c + preOffset, q);
        Int128.addSquare(cells, c + preOffset + 2, q);
        Int128.add(cells, c + preOffset + 4, Math.max(0, dq - top[ki]));
      }
      if (doPost) {
        long p = Quantization.probability(t[ki], m, d);
        Int128.add(cells, c + postOffset, p);
        Int128.addSquare(cells, c + postOffset + 2, p);
      }
    }
  }

  /**
   * Reorders the scores in [from, to) so that those < t come first, and returns where the others start.
   * Their codes are not moved along: only call this once the selections are done.
   */
  private int splitAt(int from, int to, float t) {
    float[] s = scratch;
    float[] tmp = small;
    int below = 0;
    int rest = to - from;
    for (int p = from; p < to; p++) {
      float v = s[p];
      int lt = v < t ? 1 : 0;
      tmp[below] = v;
      tmp[--rest] = v;
      below += lt;
      rest += lt;
    }
    System.arraycopy(tmp, 0, s, from, to - from);
    return from + below;
  }

  /**
   * The value at ascending position idx of the row, given that positions [from, to) hold exactly the
   * scores of one bin. Small bins, and the under- and overflow bins, are selected directly (on a copy, so
   * that the scores stay where their codes are); larger ones first by their sub-bins (the low
   * {@value #SUB_BITS} bits of the codes): the sub-bin holding the rank is gathered and selected alone.
   */
  private float selectInBin(int from, int to, int idx) {
    float[] s = scratch;
    int[] sc = codeAt;
    float[] tmp = small;
    int m = to - from;
    int bin = sc[from] >>> SUB_BITS;
    if (m <= 6 || bin == 0 || bin == selBins + 1) {
      System.arraycopy(s, from, tmp, 0, m);
      return OrderStatistics.selectInPlace(tmp, 0, m, idx - from);
    }
    int[] fc = subCount;
    Arrays.fill(fc, 0);
    for (int p = from; p < to; p++) {
      fc[sc[p] & SUB_MASK]++;
    }
    int r = idx - from;
    int u = 0;
    while (r >= fc[u]) {
      r -= fc[u];
      u++;
    }
    int c = 0;
    for (int p = from; p < to; p++) {
      tmp[c] = s[p];
      c += (sc[p] & SUB_MASK) == u ? 1 : 0;
    }
    return OrderStatistics.selectInPlace(tmp, 0, c, r);
  }

  /** Adds the row's log-probabilities (ln p_j = a_j - max - ln denominator) to slots first .. last. */
  private void addToLogHistograms(AttentionRow row, int first, int last) {
    int n = row.n();
    double shift = (double) row.max() + StrictMath.log(row.denominator()) + LOG_PROBABILITY_MIN;
    int[] slot = codeOfScore;
    RowBins.logBins(row.scores(), row.offset(), n, shift, logBinsPerUnit, bins, slot);
    for (int h = first; h <= last; h++) {
      int base = h * (bins + 2);
      for (int j = 0; j < n; j++) {
        logHist[base + slot[j]]++;
      }
    }
  }

  /** Adds another state of the same geometry and config into this one. */
  public CalibrationState merge(CalibrationState other) {
    requireMergeable(other.geometry, other.config);
    return add(java.nio.LongBuffer.wrap(other.cells), java.nio.LongBuffer.wrap(other.histRows),
        java.nio.LongBuffer.wrap(other.hist), java.nio.LongBuffer.wrap(other.logHist), other.rowsObserved,
        other.elementsObserved);
  }

  private void requireMergeable(CalibrationGeometry g, CalibrationConfig c) {
    if (!geometry.equals(g) || !config.equals(c)) {
      throw new IllegalArgumentException("cannot merge a calibration state of " + g + " and " + c
          + " into one of " + geometry + " and " + config);
    }
  }

  /**
   * Adds another state's arrays (cells with each 128-bit sum as high then low word, row counts of the
   * histograms, score histograms, log-probability histograms) and counts.
   */
  private CalibrationState add(java.nio.LongBuffer otherCells, java.nio.LongBuffer otherHistRows,
      java.nio.LongBuffer otherHist, java.nio.LongBuffer otherLogHist, long rows, long elements) {
    addCells(0, cells.length, otherCells);
    addExact(histRows, 0, histRows.length, otherHistRows);
    addExact(hist, 0, hist.length, otherHist);
    addExact(logHist, 0, logHist.length, otherLogHist);
    rowsObserved = Math.addExact(rowsObserved, rows);
    elementsObserved = Math.addExact(elementsObserved, elements);
    return this;
  }

  /** Adds cells [from, to) of another state, read in order from {@code other}. */
  private void addCells(int from, int to, java.nio.LongBuffer other) {
    for (int c = from; c < to; c += stride) {
      cells[c] = Math.addExact(cells[c], other.get());
      for (int i = c + 1; i < c + stride; i += 2) {
        long hi = other.get();
        long lo = other.get();
        Int128.addPair(cells, i, hi, lo);
      }
    }
  }

  /** Adds {@code from[start .. end)} into the same range of {@code into} and zeroes it; nothing for empty arrays. */
  private static void take(long[] into, long[] from, int start, int end) {
    if (into.length > 0) {
      addExact(into, start, end, java.nio.LongBuffer.wrap(from, start, end - start));
      Arrays.fill(from, start, end, 0L);
    }
  }

  private static void addExact(long[] into, int from, int to, java.nio.LongBuffer other) {
    for (int i = from; i < to; i++) {
      into[i] = Math.addExact(into[i], other.get());
    }
  }

  /** The k grid, ascending. */
  public int[] kGrid() {
    return ks.clone();
  }

  private int cell(int layer, int head, int bucket, int kIndex) {
    return (((layer * geometry.numHeads() + head) * numBuckets + bucket) * ks.length + kIndex) * stride;
  }

  /** Rows with n > k seen in a cell. */
  public long rows(int layer, int head, int bucket, int kIndex) {
    return cells[cell(layer, head, bucket, kIndex)];
  }

  /** Exact moments of t_row(k) in one cell, for a placement this state measured. */
  public Moments moments(Placement placement, int layer, int head, int bucket, int kIndex) {
    int c = cell(layer, head, bucket, kIndex);
    int o = placement == Placement.PRE_SOFTMAX ? preOffset : postOffset;
    if (o < 0) {
      throw new IllegalArgumentException("'placements' is set to " + config.placements()
          + " so this state has no " + placement + " statistics");
    }
    return new Moments(cells[c], Int128.toBigInteger(cells[c + o], cells[c + o + 1]),
        Int128.toBigInteger(cells[c + o + 2], cells[c + o + 3]), Quantization.tBits(placement));
  }

  /** Mean pruned mass (offline SDC) of a cell, NaN when the cell saw no row or has no pre-softmax data. */
  public double sdcMass(int layer, int head, int bucket, int kIndex) {
    int c = cell(layer, head, bucket, kIndex);
    if (preOffset < 0 || cells[c] == 0) {
      return Double.NaN;
    }
    BigInteger sum = Int128.toBigInteger(cells[c + preOffset + 4], cells[c + preOffset + 5]);
    return new BigDecimal(sum).divide(new BigDecimal(
        BigInteger.valueOf(cells[c]).shiftLeft(Quantization.MASS_BITS)), Moments.MC).doubleValue();
  }

  /** Rows that went into the score histogram of (layer, head, bucket) (with histogramsPerK: the first k's). */
  public long histogramRows(int layer, int head, int bucket) {
    return histogramRows(layer, head, bucket, 0);
  }

  /** Rows that went into the histogram a k reads: its own with histogramsPerK, else the shared one. */
  public long histogramRows(int layer, int head, int bucket, int kIndex) {
    requireHistograms();
    int slot = histSlot(layer, head, bucket, kIndex);
    return slot < 0 ? 0 : histRows[slot];
  }

  private int histSlot(int layer, int head, int bucket, int kIndex) {
    if (kIndex < 0 || kIndex >= ks.length) {
      throw new IllegalArgumentException("k index " + kIndex + " is outside the k grid "
          + Arrays.toString(ks));
    }
    int lh = layer * geometry.numHeads() + head;
    int slots = histKOf[bucket];
    int i = histK > 1 ? kIndex : 0;
    return i < slots ? lh * histPerHead + histBucketStart[bucket] + i : -1;
  }

  /** A copy of the score histogram of (layer, head, bucket) (with histogramsPerK: the first k's). */
  public ScoreHistogram histogram(int layer, int head, int bucket) {
    return histogram(layer, head, bucket, 0);
  }

  /** A copy of the score histogram a k reads: its own with histogramsPerK, else the shared one. */
  public ScoreHistogram histogram(int layer, int head, int bucket, int kIndex) {
    requireHistograms();
    int slot = histSlot(layer, head, bucket, kIndex);
    if (slot < 0) {
      return new ScoreHistogram(config.histogramMin(), config.histogramMax(), new long[bins + 2]);
    }
    int base = slot * (bins + 2);
    return new ScoreHistogram(config.histogramMin(), config.histogramMax(),
        Arrays.copyOfRange(hist, base, base + bins + 2));
  }

  /**
   * A copy of the log-probability histogram of (layer, head, bucket): ln p_j of every score, edges
   * [{@value #LOG_PROBABILITY_MIN}, 0) with {@code histogramBins} bins, the one a k reads (its own with
   * histogramsPerK, else the shared one). Only with post-softmax.
   */
  public ScoreHistogram logProbabilityHistogram(int layer, int head, int bucket, int kIndex) {
    requireHistograms();
    if (logHist.length == 0) {
      throw new IllegalStateException("'placements' is set to " + config.placements()
          + " so this state keeps no log-probability histograms (post-softmax only)");
    }
    int slot = histSlot(layer, head, bucket, kIndex);
    if (slot < 0) {
      return new ScoreHistogram(LOG_PROBABILITY_MIN, 0, new long[bins + 2]);
    }
    int base = slot * (bins + 2);
    return new ScoreHistogram(LOG_PROBABILITY_MIN, 0, Arrays.copyOfRange(logHist, base, base + bins + 2));
  }

  /** Every non-empty histogram, in (layer, head, bucket) order; empty when histograms are off. */
  public List<HistogramCell> histograms() {
    List<HistogramCell> out = new ArrayList<>();
    if (bins == 0) {
      return out;
    }
    for (int l = 0; l < geometry.numLayers(); l++) {
      for (int h = 0; h < geometry.numHeads(); h++) {
        for (int b = 0; b < numBuckets; b++) {
          long rows = histogramRows(l, h, b, 0);
          if (rows > 0) {
            out.add(new HistogramCell(l, h, b, index.lowerBound(b), index.upperBound(b), rows,
                histogram(l, h, b)));
          }
        }
      }
    }
    return out;
  }

  private void requireHistograms() {
    if (bins == 0) {
      throw new IllegalStateException("'histogramBins' is 0, so this state keeps no histograms");
    }
  }

  /** The state as bytes: magic, format version, geometry, config, counters, arrays, CRC-32. */
  public byte[] serialize() {
    ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(sizeBytes()));
    buf.putInt(MAGIC).putInt(FORMAT_VERSION);
    buf.putInt(geometry.numLayers()).putInt(geometry.numHeads()).putInt(geometry.maxPositions());
    buf.putInt(ks.length);
    for (int k : ks) {
      buf.putInt(k);
    }
    int mask = 0;
    for (Placement p : config.placements()) {
      mask |= 1 << p.ordinal();
    }
    mask |= config.histogramsPerK() ? PER_K_FLAG : 0;
    buf.putInt(mask).putInt(config.exactLengthLimit()).putInt(config.bucketsPerOctave());
    buf.putInt(config.histogramBins()).putInt(config.estimator().ordinal());
    buf.putDouble(config.histogramMin()).putDouble(config.histogramMax()).putDouble(config.sigmaAdd());
    buf.putLong(rowsObserved).putLong(elementsObserved);
    buf.putInt(cells.length).putInt(hist.length);
    buf.asLongBuffer().put(cells);
    buf.position(buf.position() + 8 * cells.length);
    buf.asLongBuffer().put(histRows);
    buf.position(buf.position() + 8 * histRows.length);
    buf.asLongBuffer().put(hist);
    buf.position(buf.position() + 8 * hist.length);
    buf.asLongBuffer().put(logHist);
    buf.position(buf.position() + 8 * logHist.length);
    CRC32 crc = new CRC32();
    crc.update(buf.array(), 0, buf.position());
    buf.putLong(crc.getValue());
    if (buf.hasRemaining()) {
      throw new IllegalStateException("serialized size mismatch: " + buf.remaining() + " bytes left");
    }
    return buf.array();
  }

  /**
   * Reads a state written by {@link #serialize()}.
   *
   * @throws IllegalArgumentException naming what is wrong when the bytes are not a calibration state of
   *     a supported format version, are truncated or corrupted
   */
  public static CalibrationState deserialize(byte[] bytes) {
    Header h = readHeader(bytes);
    CalibrationState state = new CalibrationState(h.geometry(), h.config());
    state.rowsObserved = h.rowsObserved();
    state.elementsObserved = h.elementsObserved();
    java.nio.LongBuffer data = ByteBuffer.wrap(bytes, h.dataOffset(), bytes.length - 8 - h.dataOffset())
        .slice().asLongBuffer();
    data.get(state.cells);
    data.get(state.histRows);
    data.get(state.hist);
    data.get(state.logHist);
    return state;
  }

  /**
   * Merges serialized state bytes into this state without materialising a second state (half the peak
   * memory of {@code merge(deserialize(bytes))}, with the same result).
   *
   * @throws IllegalArgumentException when the bytes are not a valid state of the same geometry and config
   */
  public CalibrationState mergeSerialized(byte[] bytes) {
    Header h = readHeader(bytes);
    requireMergeable(h.geometry(), h.config());
    java.nio.LongBuffer data = ByteBuffer.wrap(bytes, h.dataOffset(), bytes.length - 8 - h.dataOffset())
        .slice().asLongBuffer();
    return add(data, data, data, data, h.rowsObserved(), h.elementsObserved());
  }

  private record Header(CalibrationGeometry geometry, CalibrationConfig config, long rowsObserved,
      long elementsObserved, int dataOffset) {
  }

  /** Parses and checks everything but the arrays: magic, version, settings, length and CRC-32. */
  private static Header readHeader(byte[] bytes) {
    if (bytes == null || bytes.length < 8) {
      throw new IllegalArgumentException("not a calibration state: "
          + (bytes == null ? "null" : bytes.length + " bytes") + " is shorter than its 8-byte header");
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    int magic = buf.getInt();
    if (magic != MAGIC) {
      throw new IllegalArgumentException(String.format(
          "not a calibration state: the bytes start with 0x%08X but a state starts with 0x%08X (\"TCST\")",
          magic, MAGIC));
    }
    int version = buf.getInt();
    if (version != FORMAT_VERSION) {
      throw new IllegalArgumentException("calibration state format version " + version
          + " is not supported; this build reads version " + FORMAT_VERSION);
    }
    try {
      CalibrationGeometry geometry = new CalibrationGeometry(buf.getInt(), buf.getInt(), buf.getInt());
      int kCount = buf.getInt();
      if (kCount < 1 || kCount > 4096) {
        throw new IllegalArgumentException("k grid of " + kCount + " entries");
      }
      List<Integer> grid = new ArrayList<>();
      for (int i = 0; i < kCount; i++) {
        grid.add(buf.getInt());
      }
      int mask = buf.getInt();
      List<Placement> placements = new ArrayList<>();
      for (Placement p : Placement.values()) {
        if ((mask & (1 << p.ordinal())) != 0) {
          placements.add(p);
        }
      }
      int exact = buf.getInt();
      int perOctave = buf.getInt();
      int bins = buf.getInt();
      int est = buf.getInt();
      if (est < 0 || est >= EstimatorKind.values().length) {
        throw new IllegalArgumentException("estimator code " + est);
      }
      double min = buf.getDouble();
      double max = buf.getDouble();
      double sigma = buf.getDouble();
      CalibrationConfig config = new CalibrationConfig(grid, sigma, placements, exact, perOctave, min,
          max, bins, EstimatorKind.values()[est], (mask & PER_K_FLAG) != 0);
      long expected = sizeBytesFor(geometry, config);
      if (expected != bytes.length) {
        throw new IllegalArgumentException("length is " + bytes.length + " bytes but its header ("
            + geometry + ", " + config + ") implies " + expected);
      }
      CRC32 crc = new CRC32();
      crc.update(bytes, 0, bytes.length - 8);
      long stored = ByteBuffer.wrap(bytes, bytes.length - 8, 8).getLong();
      if (stored != crc.getValue()) {
        throw new IllegalArgumentException("CRC-32 is " + Long.toHexString(crc.getValue())
            + " but the stored checksum is " + Long.toHexString(stored) + " (corrupted bytes)");
      }
      long rows = buf.getLong();
      long elements = buf.getLong();
      buf.getInt();
      buf.getInt();
      return new Header(geometry, config, rows, elements, buf.position());
    } catch (java.nio.BufferUnderflowException | IllegalArgumentException | ArithmeticException e) {
      throw new IllegalArgumentException("corrupt calibration state (format version " + version
          + "): " + e.getMessage(), e);
    }
  }

  /** Java serialization (Spark closures, broadcasts) goes through {@link #serialize()}. */
  private Object writeReplace() {
    return new SerializedForm(serialize());
  }

  private void readObject(java.io.ObjectInputStream in) throws java.io.InvalidObjectException {
    throw new java.io.InvalidObjectException("a CalibrationState is read through its serialized form");
  }

  private record SerializedForm(byte[] bytes) implements java.io.Serializable {
    private Object readResolve() {
      return deserialize(bytes);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CalibrationState s && geometry.equals(s.geometry) && config.equals(s.config)
        && rowsObserved == s.rowsObserved && elementsObserved == s.elementsObserved
        && Arrays.equals(cells, s.cells) && Arrays.equals(histRows, s.histRows)
        && Arrays.equals(hist, s.hist) && Arrays.equals(logHist, s.logHist);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(cells) * 31 + Long.hashCode(rowsObserved);
  }

  @Override
  public String toString() {
    return "CalibrationState[" + geometry + ", k=" + config.kGrid() + ", placements="
        + config.placements() + ", rows=" + rowsObserved + ", bytes=" + sizeBytes() + "]";
  }
}
