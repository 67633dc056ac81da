package io.thetacal.jobs.calibrate;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.exists;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.JsonNode;
import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionStats;
import io.thetacal.attention.NonFiniteScoreException;
import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
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
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.TransformerModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
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
 * placement store's CURRENT version (under the store lock, as a refresh publishes). Sequences the model cannot take go to {@code <out>/rejected/calibrate/}.
 */
public final class CalibrateJob {
  private static final Logger LOG = LoggerFactory.getLogger(CalibrateJob.class);

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
   * The pipeline's calibration settings for this job's configuration, for dense calibration (one
   * histogram per (layer, head, n-bucket)).
   */
  public static CalibrationConfig calibrationConfig(CalibrationSettings s) {
    return calibrationConfig(s, false);
  }

  /**
   * The pipeline's calibration settings for this job's configuration. With top-k at calibration each
   * k's pass sees its own activations, so the histograms (which the kept-count-matching estimator reads)
   * are kept per k.
   */
  public static CalibrationConfig calibrationConfig(CalibrationSettings s, boolean topKAtCalibration) {
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
    CalibrationConfig cc = calibrationConfig(cs, cs.topKAtCalibrationFor(info.family()));
    checkBounds(geometry, cc, config.model().batchSize(), Math.min(config.model().maxSequenceLength(),
        info.maxPositions()));
    String publishVersion = version != null ? version : VersionedDirectory.timestampVersion(clock);
    for (Placement p : cc.placements()) {
      if (Files.exists(localRoot.resolve("thresholds").resolve(placementDir(p)).resolve(publishVersion))) {
        throw new CalibrateException("Version " + publishVersion + " already exists under "
            + localRoot.resolve("thresholds").resolve(placementDir(p)) + "; versions are immutable");
      }
    }

    long[] ingestRejected = {0};
    Map<String, String> fingerprints = fingerprints(root, cs.datasets(), modelId, ingestRejected);
    String corpora = JobSupport.path(root, "corpora");
    Dataset<Row> all = spark.read().parquet(corpora).filter(col("dataset").isin(cs.datasets().toArray()));
    Dataset<Row> checked = all.withColumn("reject_reason",
        when(col("input_ids").isNull().or(exists(col("input_ids"), x -> x.isNull())), lit("null_input_ids"))
            .when(col("n_tokens").gt(info.maxPositions()), lit("too_long_for_model"))
            .when(exists(col("input_ids"), x -> x.lt(0).or(x.geq(info.vocabSize()))),
                lit("token_out_of_vocabulary")));
    long seed = config.ingest().seed();
    Dataset<Row> calibration = checked.filter(col("split").equalTo("calibration")
        .and(col("reject_reason").isNull()));
    if (cs.maxSequences() > 0) {
      calibration = calibration.orderBy(sha2(concat_ws("#", lit(seed), col("dataset"), col("doc_id"),
          col("seq_id")), 256)).limit((int) Math.min(Integer.MAX_VALUE, cs.maxSequences()));
    }
    Dataset<Row> rejected = checked.filter(col("reject_reason").isNotNull());
    // A fixed global order (length, then a seeded hash) cut into fixed batches: similar lengths share a
    // batch, and no batch depends on the partitioning.
    Dataset<Row> input = calibration
        .withColumn("order_key", sha2(concat_ws("#", lit(seed), col("dataset"), col("doc_id"), col("seq_id")), 256))
        .select("input_ids", "n_tokens", "order_key");

    long[] totals = JobSupport.withJobGroup(spark, "thetacal-calibrate-count",
        "calibrate: count sequences of " + cs.datasets(), () -> {
          Row r = input.agg(org.apache.spark.sql.functions.count(lit(1)),
              org.apache.spark.sql.functions.sum(col("n_tokens").cast("long"))).first();
          return new long[] {r.getLong(0), r.isNullAt(1) ? 0 : r.getLong(1)};
        });
    long rejectedCount = rejected.count();
    if (totals[0] == 0) {
      throw new CalibrateException("No calibration sequences in " + corpora + " for datasets "
          + cs.datasets() + " (split 'calibration'); run 'thetacal ingest' first or check the names");
    }
    if (rejectedCount > 0) {
      rejected.select("dataset", "doc_id", "seq_id", "n_tokens", "reject_reason").write().mode("overwrite")
          .parquet(JobSupport.path(root, "rejected", "calibrate"));
    }
    LOG.info("calibrate: {} sequences ({} tokens) of {} on {} ({} layers x {} heads), state {} bytes",
        totals[0], totals[1], cs.datasets(), modelId, info.numLayers(), info.numHeads(),
        CalibrationState.sizeBytesFor(geometry, cc));

    CalibrationState state = capture(input, totals[0], geometry, cc);

    List<int[]> holdoutSeqs = cs.holdoutSequences() == 0 ? List.of()
        : holdout(checked, cs.holdoutSequences(), seed);
    Map<Placement, String> dirs = new EnumMap<>(Placement.class);
    Map<Placement, Long> cells = new EnumMap<>(Placement.class);
    Map<Placement, HoldoutCheck.Result> checks = new EnumMap<>(Placement.class);
    Provenance provenance = Provenance.capture(modelId, info.contentHash(), cc, fingerprints, seed, clock);
    Watermark watermark = watermark(localRoot, cs.datasets());
    Map<String, Long> counts = new TreeMap<>();
    counts.put("sequences", totals[0]);
    counts.put("tokens", totals[1]);
    counts.put("rejected_sequences", rejectedCount);
    counts.put("ingest_rejected_documents", ingestRejected[0]);
    counts.put("partitions", (long) config.spark().partitions());
    counts.put("holdout_sequences", (long) holdoutSeqs.size());
    for (Placement placement : cc.placements()) {
      ThresholdTable table = ThresholdTable.from(state, placement, cc.estimatorInstance());
      HoldoutCheck.Result check = holdoutSeqs.isEmpty() ? null : check(model, table, holdoutSeqs);
      if (check != null) {
        checks.put(placement, check);
      }
      ThresholdManifest manifest = ThresholdManifest.of(table, state, provenance, counts, check);
      VersionedDirectory dir = new VersionedDirectory(localRoot.resolve("thresholds").resolve(placementDir(placement)));
      ThresholdStore store = new ThresholdStore(dir.root(), clock);
      VersionRecord record = new VersionRecord(VersionRecord.FORMAT_VERSION, publishVersion, null,
          provenance.createdAt(), watermark, watermark.partitionCount(), new CandidateGate.Verdict("calibrate",
              true, List.of("full calibration" + (check == null ? "" : String.format(Locale.ROOT,
                  "; holdout kept/k worst |ratio-1| %.3f", check.worstDeviation()))), null));
      Path published = JobSupport.withJobGroup(spark, "thetacal-calibrate-write",
          "calibrate: write " + placementDir(placement) + " thresholds " + publishVersion, () -> {
            try (StoreLock lock = store.lock("calibrate")) {
              Path d = dir.publish(publishVersion, staging -> {
                record.write(staging.resolve(VersionRecord.FILE_NAME));
                ThresholdArtifacts.write(staging, table, state, manifest);
                JobSupport.writeSingleParquet(spark, thresholdRows(table), THRESHOLD_SCHEMA,
                    staging.resolve("thresholds.parquet"));
                JobSupport.writeSingleParquet(spark, histogramRows(state), HISTOGRAM_SCHEMA,
                    staging.resolve("histograms.parquet"));
              });
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
    CalibrateResult result = new CalibrateResult(publishVersion, dirs, modelId, info.contentHash(), totals[0],
        totals[1], rejectedCount, state.rowsObserved(), state.sizeBytes(), cells, checks, elapsed);
    LOG.info(String.format(Locale.ROOT, "calibrate: version %s, %d sequences, %d attention rows, %.0f tokens/s,"
        + " in %.1f s", publishVersion, totals[0], state.rowsObserved(), result.tokensPerSecond(),
        elapsed.toMillis() / 1000.0));
    return result;
  }

  /**
   * The merged calibration state of the given sequences (columns input_ids, n_tokens, order_key): a
   * fixed global order (length, then the order key) cut into batches of {@code model.batch_size},
   * spread over {@code spark.partitions}, captured per partition and tree-merged. Also the seam a
   * refresh calibrates its new partitions through.
   */
  public CalibrationState capture(Dataset<Row> input, long sequences, CalibrationGeometry geometry,
      CalibrationConfig cc) {
    Objects.requireNonNull(config, "config must be set before capture()");
    String modelId = config.model().id();
    try (Progress progress = Progress.start(spark.sparkContext(), LOG, "calibrate", sequences,
        Duration.ofSeconds(config.spark().progressIntervalSeconds()))) {
      boolean tac = config.calibration().topKAtCalibrationFor(ExecutorModels.model(modelId).info().family());
      if (tac) {
        LOG.info("calibrate: top-k at calibration, one pass per k of {}", cc.kGrid());
      }
      CalibratePartition fn = new CalibratePartition(modelId, geometry, cc, tac, progress.units(),
          progress.tokens());
      int batchSize = config.model().batchSize();
      int partitions = config.spark().partitions();
      byte[] merged = JobSupport.withJobGroup(spark, "thetacal-calibrate-capture",
          "calibrate: capture attention of " + sequences + " sequences with " + modelId, () ->
              input.orderBy(col("n_tokens"), col("order_key")).select("input_ids").javaRDD()
                  .zipWithIndex()
                  .mapToPair(t -> new scala.Tuple2<>(t._2() / batchSize,
                      new scala.Tuple2<>(t._2(), toIntArray(t._1().getList(0)))))
                  .groupByKey(partitions)
                  .mapPartitions(fn)
                  .treeReduce(CalibrateJob::merge, 2));
      CalibrationState state = CalibrationState.deserialize(merged);
      LOG.info(progress.line());
      return state;
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
    return CalibrationState.deserialize(a).merge(CalibrationState.deserialize(b)).serialize();
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

  private List<int[]> holdout(Dataset<Row> checked, int max, long seed) {
    List<Row> rows = checked.filter(col("split").equalTo("holdout").and(col("reject_reason").isNull()))
        .orderBy(sha2(concat_ws("#", lit(seed), col("dataset"), col("doc_id"), col("seq_id")), 256))
        .select("input_ids").limit(max).collectAsList();
    List<int[]> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      List<Integer> ids = r.getList(0);
      out.add(ids.stream().mapToInt(Integer::intValue).toArray());
    }
    return out;
  }

  private HoldoutCheck.Result check(TransformerModel model, ThresholdTable table, List<int[]> seqs) {
    Map<Integer, AttentionStats> byK = new LinkedHashMap<>();
    for (int k : table.kGrid()) {
      byK.put(k, model.forward(new ForwardRequest(seqs, AttentionMode.topTheta(table, k), null, false,
          false)).stats());
    }
    return HoldoutCheck.evaluate(byK);
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
