package io.thetacal.jobs.calibrate;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.lit;

import com.fasterxml.jackson.databind.JsonNode;
import io.thetacal.attention.NonFiniteScoreException;
import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.DepthCorrection;
import io.thetacal.calibration.EstimatorKind;
import io.thetacal.calibration.HoldoutCheck;
import io.thetacal.calibration.RowLengthIndex;
import io.thetacal.calibration.ScoreHistogram;
import io.thetacal.calibration.ThresholdCell;
import io.thetacal.calibration.ThresholdTable;
import io.thetacal.calibration.Watermark;
import io.thetacal.io.CandidateGate;
import io.thetacal.io.CorpusPartitions;
import io.thetacal.io.Provenance;
import io.thetacal.io.StoreLock;
import io.thetacal.io.ThresholdStore;
import io.thetacal.io.VersionRecord;
import io.thetacal.io.ThresholdArtifacts;
import io.thetacal.io.ThresholdManifest;
import io.thetacal.io.VersionedDirectory;
import io.thetacal.jobs.config.CalibrationSettings;
import io.thetacal.jobs.config.ConfigException;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.spark.ExecutorModels;
import io.thetacal.jobs.spark.JobSupport;
import io.thetacal.jobs.spark.Progress;
import io.thetacal.jobs.spark.RejectedSequences;
import io.thetacal.jobs.spark.SamplePasses;
import io.thetacal.model.ModelFamily;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.TransformerModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code thetacal calibrate}: the calibration split of ingested datasets → Top-θ thresholds. Sequences
 * are spread over partitions; each executor JVM loads the model once and captures every attention row
 * of its partition into a {@link CalibrationState}; partition states are merged by a tree aggregation
 * (exact integer sums, so the result is bitwise the same for any partitioning or cluster); thresholds
 * for every k of the grid and every placement come from that one pass. Each placement is published as
 * an immutable version under {@code <out>/thresholds/<placement>/<version>/} (thresholds.json,
 * thresholds.parquet, histograms.parquet, thresholds.arrow, state.bin, version.json with the data
 * watermark that makes the version refreshable, and a _SUCCESS marker written last), and becomes the
 * placement store's CURRENT version. The run holds the lock of every store it publishes into from start to
 * end, so it neither starts nor publishes while a refresh, promote or rollback of one of them runs (and they
 * refuse to run meanwhile, naming it). Sequences the model cannot take are quarantined by
 * {@link RejectedSequences} into {@code <out>/rejected/calibrate/run=<version>/} and counted; more than
 * {@code calibration.max_rejected_fraction} of them stops the run.
 */
public final class CalibrateJob {
  private static final Logger LOG = LoggerFactory.getLogger(CalibrateJob.class);

  /**
   * The manifest count recording whether the state was captured with top-k at calibration (1) or dense
   * (0): it changes what the sums mean, so a refresh must continue a version with the same setting.
   */
  public static final String TOP_K_AT_CALIBRATION = "top_k_at_calibration";

  /** The column of {@link #capture}'s input naming the corpus partition file a sequence comes from. */
  public static final String BATCH_GROUP = "batch_group";

  /**
   * The {@value #BATCH_GROUP} of the rows of a Parquet read: {@code dataset} and the file each row was
   * read from. Calibrate and refresh must name a file's group alike for their batches to agree.
   */
  public static org.apache.spark.sql.Column batchGroup(org.apache.spark.sql.Column dataset) {
    return concat_ws("/", dataset, col("_metadata.file_name"));
  }

  private static final StructType THRESHOLD_SCHEMA = new StructType()
      .add("placement", DataTypes.StringType, false)
      .add("layer", DataTypes.IntegerType, false)
      .add("head", DataTypes.IntegerType, false)
      .add("bucket", DataTypes.IntegerType, false)
      .add("n_lo", DataTypes.IntegerType, false)
      .add("n_hi", DataTypes.IntegerType, false)
      .add("k", DataTypes.IntegerType, false)
      .add("theta", DataTypes.FloatType, false)
      .add("rows", DataTypes.LongType, false)
      .add("mean", DataTypes.DoubleType, false)
      .add("std", DataTypes.DoubleType, false)
      .add("sdc_mass", DataTypes.DoubleType, true);

  private static final StructType HISTOGRAM_SCHEMA = new StructType()
      .add("layer", DataTypes.IntegerType, false)
      .add("head", DataTypes.IntegerType, false)
      .add("bucket", DataTypes.IntegerType, false)
      .add("n_lo", DataTypes.IntegerType, false)
      .add("n_hi", DataTypes.IntegerType, false)
      .add("rows", DataTypes.LongType, false)
      .add("min", DataTypes.DoubleType, false)
      .add("max", DataTypes.DoubleType, false)
      .add("counts", DataTypes.createArrayType(DataTypes.LongType, false), false);

  private final SparkSession spark;
  private ThetacalConfig config;
  private String outputRoot;
  private String version;
  private Clock clock = Clock.systemUTC();

  public CalibrateJob(SparkSession spark) {
    this.spark = Objects.requireNonNull(spark, "spark");
  }

  /** The configuration to run with (required). */
  public CalibrateJob config(ThetacalConfig c) {
    this.config = c;
    return this;
  }

  /** Output root holding {@code corpora/} and receiving {@code thresholds/}; default: output.root. */
  public CalibrateJob outputRoot(String root) {
    this.outputRoot = root;
    return this;
  }

  /** Version name to publish; default: the UTC time, e.g. v20261123T104500Z. */
  public CalibrateJob version(String v) {
    this.version = v;
    return this;
  }

  /** Clock for the default version name and the created-at time. */
  public CalibrateJob clock(Clock c) {
    this.clock = Objects.requireNonNull(c);
    return this;
  }

  /**
   * The pipeline's calibration settings for this job's configuration and a model of this family (calibrate
   * and refresh both derive them here). With top-k at calibration ({@link
   * CalibrationSettings#topKAtCalibrationFor}) each k's pass sees its own activations, so the histograms
   * (which the kept-count-matching estimator reads) are kept per k.
   */
  public static CalibrationConfig calibrationConfig(CalibrationSettings s, ModelFamily family) {
    boolean topKAtCalibration = s.topKAtCalibrationFor(family);
    return new CalibrationConfig(s.kGrid(), s.sigmaAdd(), s.placements(),
        RowLengthIndex.EXACT_LIMIT_DEFAULT, RowLengthIndex.BUCKETS_PER_OCTAVE_DEFAULT,
        CalibrationConfig.HISTOGRAM_MIN_DEFAULT, CalibrationConfig.HISTOGRAM_MAX_DEFAULT,
        CalibrationConfig.HISTOGRAM_BINS_DEFAULT,
        s.estimator() == CalibrationSettings.Estimator.MEAN_STD ? EstimatorKind.MEAN_STD
            : EstimatorKind.HISTOGRAM_QUANTILE, topKAtCalibration);
  }

  public CalibrateResult execute() {
    Objects.requireNonNull(config, "config must be set before execute()");
    long t0 = System.nanoTime();
    CalibrationSettings cs = config.calibration();
    String root = outputRoot != null ? outputRoot : config.output().root();
    Path localRoot = localPath(root);
    String modelId = config.model().id();
    TransformerModel model;
    try {
      model = ExecutorModels.model(modelId);
    } catch (NonFiniteScoreException nf) {
      throw new CalibrateException("Model " + modelId + " produced a non-finite attention score at layer "
          + nf.layer() + ", head " + nf.head() + " while loading: " + nf.getMessage() + "; the model is broken", nf);
    }
    ModelInfo info = model.info();
    CalibrationGeometry geometry = CalibrationGeometry.of(info);
    CalibrationConfig cc = calibrationConfig(cs, info.family());
    checkBounds(geometry, cc, config.model().batchSize(), Math.min(config.model().maxSequenceLength(),
        info.maxPositions()));
    String publishVersion = version != null ? version : VersionedDirectory.timestampVersion(clock);
    for (Placement p : cc.placements()) {
      if (Files.exists(localRoot.resolve("thresholds").resolve(placementDir(p)).resolve(publishVersion))) {
        throw new CalibrateException("Version " + publishVersion + " already exists under "
            + localRoot.resolve("thresholds").resolve(placementDir(p)) + "; versions are immutable");
      }
    }

    // Held from here to the end: a refresh, promote or rollback of these stores waits for the whole run,
    // and this run refuses to start while one of them runs.
    Map<Placement, StoreLock> locks = new EnumMap<>(Placement.class);
    try {
      for (Placement p : cc.placements()) {
        ThresholdStore store = new ThresholdStore(localRoot.resolve("thresholds").resolve(placementDir(p)), clock);
        StoreLock lock = store.lock("calibrate");
        locks.put(p, lock);
        if (lock.staleHolder().isPresent()) {
          LOG.warn("calibrate: the previous holder of {}, {}, ended without releasing it; removing its leftovers",
              store.root().resolve(StoreLock.FILE_NAME), lock.staleHolder().get());
          store.cleanLeftovers(lock);
        }
      }
      long[] ingestRejected = {0};
      Map<String, String> fingerprints = fingerprints(root, cs.datasets(), modelId, ingestRejected);
      String corpora = JobSupport.path(root, "corpora");
      Dataset<Row> all = spark.read().parquet(corpora)
          .withColumn(BATCH_GROUP, batchGroup(col("dataset")))
          .filter(col("dataset").isin(cs.datasets().toArray()));
      Dataset<Row> checked = RejectedSequences.check(all, col("dataset"), info);
      long seed = config.ingest().seed();
      Dataset<Row> calibration = checked.filter(col("split").equalTo("calibration")
          .and(col(RejectedSequences.COLUMN).isNull()));
      if (cs.maxSequences() > 0) {
        calibration = calibration.orderBy(JobSupport.orderKey(seed, col("dataset"))).limit((int) Math.min(Integer.MAX_VALUE, cs.maxSequences()));
      }
      Dataset<Row> input = calibration
          .withColumn("order_key", JobSupport.orderKey(seed, col("dataset")))
          .select(BATCH_GROUP, "input_ids", "n_tokens", "order_key");

      SortedMap<String, Map<Integer, Long>> lengths = JobSupport.withJobGroup(spark, "thetacal-calibrate-count",
          "calibrate: count sequences of " + cs.datasets(), () -> lengthCounts(input));
      long[] totals = {0, 0};
      lengths.values().forEach(group -> group.forEach((n, c) -> {
        totals[0] += c;
        totals[1] += n * c;
      }));
      RejectedSequences.Tally rejected = RejectedSequences.quarantine(spark, checked, root, "calibrate",
          publishVersion, cs.maxRejectedFraction(), "datasets " + cs.datasets());
      long rejectedCount = rejected.rejected();
      if (totals[0] == 0) {
        throw new CalibrateException("No calibration sequences in " + corpora + " for datasets "
            + cs.datasets() + " (split 'calibration'); run 'thetacal ingest' first or check the names");
      }
      LOG.info("calibrate: {} sequences ({} tokens) of {} on {} ({} layers x {} heads), state {} bytes",
          totals[0], totals[1], cs.datasets(), modelId, info.numLayers(), info.numHeads(),
          CalibrationState.sizeBytesFor(geometry, cc));

      Captured captured = capture(input, lengths, geometry, cc);
      CalibrationState state = captured.state();

      List<int[]> holdoutSeqs = cs.holdoutSequences() == 0 ? List.of()
          : firstByKey(checked, "holdout", cs.holdoutSequences(), seed);
      int sampleSize = depthCorrectionSampleSize(cs);
      List<int[]> correctionSeqs = sampleSize == 0 ? List.of()
          : firstByKey(checked, "calibration", sampleSize, seed);
      Map<Placement, String> dirs = new EnumMap<>(Placement.class);
      Map<Placement, Long> cells = new EnumMap<>(Placement.class);
      Map<Placement, HoldoutCheck.Result> checks = new EnumMap<>(Placement.class);
      Provenance provenance = Provenance.capture(modelId, info.contentHash(), cc, fingerprints, seed, clock);
      Watermark watermark = watermark(localRoot, cs.datasets());
      Map<String, Long> counts = new TreeMap<>();
      counts.put("sequences", totals[0]);
      counts.put("tokens", totals[1]);
      counts.put(RejectedSequences.COUNT, rejectedCount);
      counts.put("ingest_rejected_documents", ingestRejected[0]);
      counts.put("partitions", (long) config.spark().partitions());
      counts.put("holdout_sequences", (long) holdoutSeqs.size());
      counts.put(TOP_K_AT_CALIBRATION, cs.topKAtCalibrationFor(info.family()) ? 1L : 0L);
      // the placements' tables are independent reads of the state: derived side by side
      long tt = System.nanoTime();
      Map<Placement, ThresholdTable> tables = new EnumMap<>(Placement.class);
      cc.placements().parallelStream()
          .map(p -> Map.entry(p, ThresholdTable.from(state, p, cc.estimatorInstance())))
          .toList().forEach(e -> tables.put(e.getKey(), e.getValue()));
      long thresholdNanos = System.nanoTime() - tt;
      // the histograms are the state's, the same for every placement: written by one Spark job, then copied
      Path[] histograms = {null};
      Map<Placement, DepthCorrection> corrections = new EnumMap<>(Placement.class);
      long correctionNanos = 0;
      long checkNanos = 0;
      for (Placement placement : cc.placements()) {
        DepthCorrection correction = null;
        ThresholdTable derived = tables.get(placement);
        if (!correctionSeqs.isEmpty()) {
          long tc = System.nanoTime();
          correction = SamplePasses.depthCorrection(spark, modelId, derived, correctionSeqs, "calibrate");
          correctionNanos += System.nanoTime() - tc;
          corrections.put(placement, correction);
          LOG.info("calibrate: {} depth correction on {} sequences in {} ms, shift per k and layer {}",
              placementDir(placement), correctionSeqs.size(), (System.nanoTime() - tc) / 1_000_000,
              java.util.Arrays.deepToString(correction.shifts()));
        }
        ThresholdTable table = correction == null ? derived : correction.apply(derived);
        HoldoutCheck.Result check = null;
        if (!holdoutSeqs.isEmpty()) {
          long th = System.nanoTime();
          check = SamplePasses.holdoutCheck(spark, modelId, table, holdoutSeqs, "calibrate");
          checkNanos += System.nanoTime() - th;
          checks.put(placement, check);
        }
        ThresholdManifest manifest = ThresholdManifest.of(table, state, provenance, counts, check,
            correction);
        VersionedDirectory dir = new VersionedDirectory(localRoot.resolve("thresholds").resolve(placementDir(placement)));
        ThresholdStore store = new ThresholdStore(dir.root(), clock);
        VersionRecord record = new VersionRecord(VersionRecord.FORMAT_VERSION, publishVersion, null,
            provenance.createdAt(), watermark, watermark.partitionCount(), new CandidateGate.Verdict("calibrate",
                true, List.of("full calibration" + (check == null ? "" : String.format(Locale.ROOT,
                    "; holdout kept/k worst |ratio-1| %.3f", check.worstDeviation()))), null));
        Path published = JobSupport.withJobGroup(spark, "thetacal-calibrate-write",
            "calibrate: write " + placementDir(placement) + " thresholds " + publishVersion, () -> {
              try {
                StoreLock lock = locks.get(placement);
                Path d = dir.publish(publishVersion, staging -> {
                  record.write(staging.resolve(VersionRecord.FILE_NAME));
                  ThresholdArtifacts.write(staging, table, state, manifest);
                  JobSupport.writeSingleParquet(spark, thresholdRows(table), THRESHOLD_SCHEMA,
                      staging.resolve("thresholds.parquet"));
                  if (histograms[0] != null) {
                    Files.copy(histograms[0], staging.resolve("histograms.parquet"));
                  } else {
                    JobSupport.writeSingleParquet(spark, histogramRows(state), HISTOGRAM_SCHEMA,
                        staging.resolve("histograms.parquet"));
                  }
                });
                histograms[0] = d.resolve("histograms.parquet");
                store.promote(lock, publishVersion);
                return d;
              } catch (IOException e) {
                throw new UncheckedIOException("Cannot publish thresholds under " + dir.root(), e);
              }
            });
        dirs.put(placement, published.toString());
        cells.put(placement, table.calibratedCells());
      }
      Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
      CalibrateTimings timings = new CalibrateTimings(captured.wall(), captured.driverMerge(),
          Duration.ofNanos(thresholdNanos), captured.modelLoad(), captured.plan().partitionTokens().length,
          captured.plan().maxTokens(), captured.plan().minTokens(), Duration.ofNanos(correctionNanos),
          Duration.ofNanos(checkNanos));
      CalibrateResult result = new CalibrateResult(publishVersion, dirs, modelId, info.contentHash(), totals[0],
          totals[1], rejectedCount, state.rowsObserved(), state.sizeBytes(), cells, checks, corrections, elapsed, timings);
      LOG.info(String.format(Locale.ROOT, "calibrate: version %s, %d sequences, %d attention rows, %.0f tokens/s,"
          + " in %.1f s (capture %.1f s; driver merge %.3f s and thresholds %.3f s = %.2f %%; on the"
          + " executors: depth correction %.1f s, holdout check %.1f s; model loads %.1f s over tasks)", publishVersion,
          totals[0], state.rowsObserved(), result.tokensPerSecond(), elapsed.toMillis() / 1000.0,
          timings.capture().toMillis() / 1000.0, timings.driverMerge().toNanos() / 1e9,
          timings.thresholds().toNanos() / 1e9, 100 * result.driverShare(),
          timings.depthCorrection().toMillis() / 1000.0, timings.holdoutCheck().toMillis() / 1000.0,
          timings.modelLoad().toMillis() / 1000.0));
      return result;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (StoreLock l : locks.values()) {
        try {
          l.close();
        } catch (IOException e) {
          LOG.warn("calibrate: cannot release {}", l.holder(), e);
        }
      }
    }
  }

  /**
   * The merged calibration state of the given sequences (columns {@value #BATCH_GROUP}, input_ids,
   * n_tokens, order_key): each batch group (a corpus partition file) in a fixed order (length, then the
   * order key) cut into batches of {@code model.batch_size}, spread over {@code spark.partitions},
   * captured per partition and tree-merged. A batch never spans two files: the forward pass of a
   * sequence depends in its last bits on the batch it runs in, so this keeps every file's batches, and so
   * its contribution to the state, the same whichever job calibrates it. That is what makes
   * calibrate(A) then refresh(B) equal calibrate(A ∪ B) bit for bit; and no batch depends on the
   * partitioning. Also the seam a refresh calibrates its new partitions through.
   */
  public CalibrationState capture(Dataset<Row> input, long sequences, CalibrationGeometry geometry,
      CalibrationConfig cc) {
    Objects.requireNonNull(config, "config must be set before capture()");
    SortedMap<String, Map<Integer, Long>> lengths = JobSupport.withJobGroup(spark, "thetacal-calibrate-count",
        "calibrate: count " + sequences + " sequences by length", () -> lengthCounts(input));
    return capture(input, lengths, geometry, cc).state();
  }

  /** The merged state, the batch plan, and the measured times of one capture. */
  private record Captured(CalibrationState state, BatchPlan.Plan plan, Duration wall, Duration driverMerge,
      Duration modelLoad) {
  }

  private Captured capture(Dataset<Row> input, SortedMap<String, Map<Integer, Long>> lengths,
      CalibrationGeometry geometry, CalibrationConfig cc) {
    String modelId = config.model().id();
    long sequences = lengths.values().stream().flatMap(m -> m.values().stream()).mapToLong(Long::longValue).sum();
    try (Progress progress = Progress.start(spark.sparkContext(), LOG, "calibrate", sequences,
        Duration.ofSeconds(config.spark().progressIntervalSeconds()))) {
      boolean tac = config.calibration().topKAtCalibrationFor(ExecutorModels.model(modelId).info().family());
      if (tac) {
        LOG.info("calibrate: top-k at calibration, one pass per placement of {} and k of {}",
            cc.placements(), cc.kGrid());
      }
      LongAccumulator modelLoad = spark.sparkContext().longAccumulator("calibrate.model_load_ns");
      CalibratePartition fn = new CalibratePartition(modelId, geometry, cc, tac, progress.units(),
          progress.tokens(), modelLoad);
      int batchSize = config.model().batchSize();
      int partitions = config.spark().partitions();
      BatchPlan.Plan plan = BatchPlan.plan(List.copyOf(lengths.values()), batchSize, partitions);
      int parallelism = spark.sparkContext().defaultParallelism();
      LOG.info("calibrate: {} batches of {} over {} partitions, {}..{} tokens per partition, {} cores{}",
          (sequences + batchSize - 1) / batchSize, batchSize, partitions, plan.minTokens(), plan.maxTokens(),
          parallelism, partitions % parallelism == 0 ? "" : "; 'spark.partitions' is not a multiple of the"
              + " cores, so the last round of tasks leaves cores idle");
      DriverTimedMerge merge = new DriverTimedMerge();
      long t0 = System.nanoTime();
      // Per group, in group order: the global index of its first row and the id of its first batch.
      Map<String, long[]> starts = new HashMap<>();
      long rowsBefore = 0;
      long batchesBefore = 0;
      for (Map.Entry<String, Map<Integer, Long>> g : lengths.entrySet()) {
        long rows = g.getValue().values().stream().mapToLong(Long::longValue).sum();
        starts.put(g.getKey(), new long[] {rowsBefore, batchesBefore});
        rowsBefore += rows;
        batchesBefore += (rows + batchSize - 1) / batchSize;
      }
      byte[] merged = JobSupport.withJobGroup(spark, "thetacal-calibrate-capture",
          "calibrate: capture attention of " + sequences + " sequences with " + modelId, () ->
              input.orderBy(col(BATCH_GROUP), col("n_tokens"), col("order_key"))
                  .select(BATCH_GROUP, "input_ids").javaRDD()
                  .zipWithIndex()
                  .mapToPair(t -> {
                    long[] start = starts.get(t._1().getString(0));
                    return new scala.Tuple2<>(start[1] + (t._2() - start[0]) / batchSize,
                        new scala.Tuple2<>(t._2(), toIntArray(t._1().getList(1))));
                  })
                  .groupByKey(plan.partitioner())
                  .mapPartitions(fn)
                  .treeReduce(merge, 2));
      long d0 = System.nanoTime();
      CalibrationState state = CalibrationState.deserialize(merged);
      long d1 = System.nanoTime();
      LOG.info(progress.line());
      return new Captured(state, plan, Duration.ofNanos(d1 - t0), Duration.ofNanos(merge.driverNanos() + d1 - d0),
          Duration.ofNanos(modelLoad.value()));
    } catch (RuntimeException e) {
      NonFiniteScoreException nf = find(e, NonFiniteScoreException.class);
      if (nf != null) {
        throw new CalibrateException("Model " + modelId + " produced a non-finite attention score at layer "
            + nf.layer() + ", head " + nf.head() + ": " + nf.getMessage() + "; the model is broken", nf);
      }
      throw e;
    }
  }

  /**
   * Sequences per length of each batch group, groups in the capture's order (a null length counts as 0,
   * where the capture's sort puts it).
   */
  private static SortedMap<String, Map<Integer, Long>> lengthCounts(Dataset<Row> input) {
    // Spark sorts strings by their UTF-8 bytes; the groups are kept in that order
    SortedMap<String, Map<Integer, Long>> out = new TreeMap<>((x, y) -> Arrays.compareUnsigned(
        x.getBytes(StandardCharsets.UTF_8), y.getBytes(StandardCharsets.UTF_8)));
    for (Row r : input.groupBy(col(BATCH_GROUP), coalesce(col("n_tokens"), lit(0)).as("n")).count()
        .collectAsList()) {
      out.computeIfAbsent(r.getString(0), g -> new TreeMap<>()).put(((Number) r.get(1)).intValue(), r.getLong(2));
    }
    return out;
  }

  /**
   * The merge of two serialized states, timing the calls made on the driver (outside any task): the final
   * merge of the partial states that a tree aggregation hands the driver.
   */
  static final class DriverTimedMerge implements Function2<byte[], byte[], byte[]> {
    private static final long serialVersionUID = 1L;
    private final transient AtomicLong driverNanos = new AtomicLong();

    @Override
    public byte[] call(byte[] a, byte[] b) {
      if (driverNanos == null || TaskContext.get() != null) {
        return merge(a, b);
      }
      long t0 = System.nanoTime();
      try {
        return merge(a, b);
      } finally {
        driverNanos.addAndGet(System.nanoTime() - t0);
      }
    }

    long driverNanos() {
      return driverNanos.get();
    }
  }

  /**
   * Refuses, before any Spark job starts, settings whose per-task memory exceeds what one task can hold:
   * the calibration state ({@link CalibrationState#MAX_STATE_BYTES}) and the token ids of one batch.
   */
  static void checkBounds(CalibrationGeometry geometry, CalibrationConfig cc, int batchSize, int maxLength) {
    long state = CalibrationState.sizeBytesFor(geometry, cc);
    if (state > CalibrationState.MAX_STATE_BYTES) {
      throw new ConfigException("'calibration.k_grid' (" + cc.kGrid().size() + " values) and "
          + "'calibration.placements' " + cc.placements() + " give a calibration state of " + state
          + " bytes for " + geometry + ", more than the " + CalibrationState.MAX_STATE_BYTES
          + " bytes one state can hold; shorten 'calibration.k_grid' or keep one placement");
    }
    long batch = CalibratePartition.batchBytesFor(batchSize, maxLength);
    if (batch > CalibratePartition.MAX_BATCH_BYTES) {
      throw new ConfigException("'model.batch_size' is set to " + batchSize + " but with "
          + maxLength + " tokens per sequence one batch holds " + batch + " bytes of token ids, more than "
          + CalibratePartition.MAX_BATCH_BYTES + "; lower 'model.batch_size' or 'model.max_sequence_length'");
    }
  }

  static int[] toIntArray(List<Integer> ids) {
    int[] out = new int[ids.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ids.get(i);
    }
    return out;
  }

  static byte[] merge(byte[] a, byte[] b) {
    return CalibrationState.deserialize(a).mergeSerialized(b).serialize();
  }

  static String placementDir(Placement p) {
    return p.name().toLowerCase(Locale.ROOT);
  }

  private static Path localPath(String root) {
    if (root.startsWith("file:")) {
      return Path.of(java.net.URI.create(root));
    }
    if (root.contains("://")) {
      throw new ConfigException("'output.root' is set to '" + root + "' but calibrate publishes thresholds"
          + " atomically on a local file system; use a local path");
    }
    return Path.of(root).toAbsolutePath();
  }

  /** Every ingested partition file of the datasets: a refresh of this version skips them. */
  private static Watermark watermark(Path localRoot, List<String> datasets) {
    Map<String, Path> roots = new TreeMap<>();
    for (String d : datasets) {
      roots.put(d, localRoot.resolve("corpora").resolve("dataset=" + d));
    }
    try {
      return Watermark.empty().plus(CorpusPartitions.scanAll(roots));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot fingerprint the partitions of " + roots.values(), e);
    }
  }

  private Map<String, String> fingerprints(String root, List<String> datasets, String modelId,
      long[] ingestRejected) {
    FileSystem fs = JobSupport.fs(spark, root);
    Map<String, String> out = new TreeMap<>();
    for (String d : datasets) {
      String path = JobSupport.path(root, "corpora", "_manifests", d + ".json");
      try (InputStream in = fs.open(new org.apache.hadoop.fs.Path(path))) {
        JsonNode m = ConfigLoader.json().readTree(in);
        String ingestedFor = m.path("model_id").asText();
        if (!ingestedFor.equals(modelId)) {
          throw new CalibrateException("Dataset '" + d + "' was tokenized for model '" + ingestedFor
              + "' but 'model.id' is '" + modelId + "'; run 'thetacal ingest' with this model first");
        }
        out.put(d, m.path("result").path("fingerprint").asText());
        ingestRejected[0] += m.path("result").path("rejected").asLong();
      } catch (java.io.FileNotFoundException e) {
        throw new CalibrateException("Dataset '" + d + "' has not been ingested under " + root
            + " (no " + path + "); run 'thetacal ingest' first");
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read " + path, e);
      }
    }
    return out;
  }

  /**
   * How many sequences the depth correction is fitted on: the first calibration sequences by the seeded
   * order key, which {@code calibration.max_sequences} keeps first, so the sample is always calibrated on.
   */
  public static int depthCorrectionSampleSize(CalibrationSettings cs) {
    return (int) (cs.maxSequences() > 0 ? Math.min(cs.maxSequences(), cs.depthCorrectionSequences())
        : cs.depthCorrectionSequences());
  }

  /** Token ids of the first usable sequences of a split by the seeded order key, at most max. */
  private List<int[]> firstByKey(Dataset<Row> checked, String split, int max, long seed) {
    List<Row> rows = checked.filter(col("split").equalTo(split).and(col(RejectedSequences.COLUMN).isNull()))
        .orderBy(JobSupport.orderKey(seed, col("dataset")))
        .select("input_ids").limit(max).collectAsList();
    List<int[]> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      List<Integer> ids = r.getList(0);
      out.add(ids.stream().mapToInt(Integer::intValue).toArray());
    }
    return out;
  }

  private static List<Row> thresholdRows(ThresholdTable table) {
    List<Row> rows = new ArrayList<>();
    String placement = placementDir(table.placement());
    for (ThresholdCell c : table.cells()) {
      rows.add(RowFactory.create(placement, c.layer(), c.head(), c.bucket(), c.nLo(), c.nHi(), c.k(),
          c.theta(), c.rows(), c.mean(), c.std(), Double.isNaN(c.sdcMass()) ? null : c.sdcMass()));
    }
    return rows;
  }

  private static List<Row> histogramRows(CalibrationState state) {
    List<Row> rows = new ArrayList<>();
    CalibrationGeometry g = state.geometry();
    RowLengthIndex idx = state.rowLengthIndex();
    for (int l = 0; l < g.numLayers(); l++) {
      for (int h = 0; h < g.numHeads(); h++) {
        for (int b = 0; b < idx.numBuckets(); b++) {
          long n = state.histogramRows(l, h, b);
          if (n == 0) {
            continue;
          }
          ScoreHistogram hist = state.histogram(l, h, b);
          rows.add(RowFactory.create(l, h, b, idx.lowerBound(b), idx.upperBound(b), n, hist.min(), hist.max(),
              hist.counts()));
        }
      }
    }
    return rows;
  }

  private static <T extends Throwable> T find(Throwable t, Class<T> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return type.cast(c);
      }
    }
    return null;
  }
}
