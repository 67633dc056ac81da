package io.thetacal.jobs.refresh;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.size;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.CorpusPartition;
import io.thetacal.calibration.DepthCorrection;
import io.thetacal.calibration.RefreshPlan;
import io.thetacal.io.CandidateGate;
import io.thetacal.io.CorpusPartitions;
import io.thetacal.io.Refresh;
import io.thetacal.io.RefreshResult;
import io.thetacal.io.StoreLock;
import io.thetacal.io.ThresholdManifest;
import io.thetacal.io.ThresholdStore;
import io.thetacal.io.VersionedDirectory;
import io.thetacal.jobs.calibrate.CalibrateJob;
import io.thetacal.jobs.config.CalibrationSettings;
import io.thetacal.jobs.config.ConfigException;
import io.thetacal.jobs.config.RefreshSettings;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.spark.ExecutorModels;
import io.thetacal.jobs.spark.JobSupport;
import io.thetacal.jobs.spark.RejectedSequences;
import io.thetacal.jobs.spark.SamplePasses;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.TransformerModel;
import io.thetacal.report.Gates;
import io.thetacal.report.ReportGate;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code thetacal refresh}: a Spark adapter over {@link Refresh}, configured by the same
 * {@link ThetacalConfig} as {@code calibrate} (model, calibration settings, gates, Spark, output root) plus
 * its {@code refresh} section. Each refreshed placement's store is the directory calibrate publishes that
 * placement into ({@code <output.root>/thresholds/<placement>/}), so the first refresh continues the
 * calibrated version. The new partitions are read with Spark and captured once, through the calibrate
 * job's own path ({@link CalibrateJob#capture}), for all placements; the gate is {@link ReportGate} on
 * the holdout datasets at {@code refresh.gate_k}, judged by {@code report.gates}. Partition files are
 * either ingested datasets ({@code input_ids}, and {@code split}: only the calibration rows are
 * calibrated, only the holdout rows judged) or raw text in {@code refresh.text_column}, tokenized with
 * the model's tokenizer and cut to {@code model.max_sequence_length}. Rows of the new partitions the model
 * cannot take are quarantined as calibrate quarantines them ({@link RejectedSequences}), under
 * {@code <output.root>/rejected/refresh/run=<time the refresh started>/}, and counted in each refreshed
 * version's manifest ({@code rejected_sequences}); more than {@code calibration.max_rejected_fraction}
 * of them stops the refresh before anything is published.
 */
public final class RefreshJob {
  private static final Logger LOG = LoggerFactory.getLogger(RefreshJob.class);

  /** Calibration keys of the pipeline's config as the job config names them. */
  private static final Map<String, String> KEYS = Map.of(
      CalibrationConfig.K_GRID, "calibration.k_grid",
      CalibrationConfig.SIGMA_ADD, "calibration.sigma_add",
      CalibrationConfig.PLACEMENTS, "calibration.placements",
      CalibrationConfig.ESTIMATOR, "calibration.estimator");

  private final SparkSession spark;
  private ThetacalConfig config;
  private List<Placement> only;
  private Clock clock = Clock.systemUTC();

  public RefreshJob(SparkSession spark) {
    this.spark = Objects.requireNonNull(spark, "spark");
  }

  /** The configuration to run with (required). */
  public RefreshJob config(ThetacalConfig c) {
    this.config = c;
    return this;
  }

  /** Refreshes only these placements instead of {@code refresh.placements}. */
  public RefreshJob placements(List<Placement> p) {
    this.only = List.copyOf(p);
    return this;
  }

  /** Clock for version names and created-at times. */
  public RefreshJob clock(Clock c) {
    this.clock = Objects.requireNonNull(c);
    return this;
  }

  /** The store of a placement under an output root: where calibrate publishes that placement. */
  public static ThresholdStore store(Path outputRoot, Placement placement, Clock clock) {
    return new ThresholdStore(outputRoot.toAbsolutePath().resolve(ThresholdStore.DIRECTORY)
        .resolve(placement.name().toLowerCase(Locale.ROOT)), clock);
  }

  /** The output root as a local path; refused, naming the key, when it is on another file system. */
  public static Path localRoot(String root) {
    if (root.startsWith("file:")) {
      return Path.of(java.net.URI.create(root));
    }
    if (root.contains("://")) {
      throw new ConfigException("'output.root' is set to '" + root + "' but threshold versions are"
          + " published atomically under a store lock on a local file system; use a local path");
    }
    return Path.of(root).toAbsolutePath();
  }

  /**
   * Runs the refresh of every placement in turn.
   *
   * @throws StoreLock.LockedException naming the holder when a store is locked (before any work)
   * @throws ConfigException naming the key when the configuration cannot continue the current version
   */
  public RefreshJobResult execute() throws IOException {
    Objects.requireNonNull(config, "config must be set before execute()");
    long t0 = System.nanoTime();
    CalibrationSettings cs = config.calibration();
    RefreshSettings rs = config.refresh();
    Path root = localRoot(config.output().root());
    List<Integer> kGrid = cs.kGrid();
    List<Placement> placements = only != null ? only : rs.placementsOr(cs.placements());
    for (Placement p : placements) {
      if (!cs.placements().contains(p)) {
        throw new ConfigException("placement " + p.name().toLowerCase(Locale.ROOT) + " is refreshed but"
            + " 'calibration.placements' is " + lower(cs.placements()));
      }
    }
    if (!kGrid.contains(rs.gateK())) {
      throw new ConfigException("'refresh.gate_k' is set to " + rs.gateK()
          + " but must be one of 'calibration.k_grid' " + kGrid);
    }
    Map<Placement, ThresholdStore> stores = new EnumMap<>(Placement.class);
    for (Placement p : placements) {
      ThresholdStore s = store(root, p, clock);
      StoreLock.requireFree(s.root());
      stores.put(p, s);
    }

    TransformerModel model = ExecutorModels.model(config.model().id());
    ModelInfo info = model.info();
    CalibrationGeometry geometry = CalibrationGeometry.of(info);
    boolean tac = cs.topKAtCalibrationFor(info.family());
    // the calibrate job's own settings, per-k histograms with top-k at calibration included
    CalibrationConfig cc = CalibrateJob.calibrationConfig(cs, info.family());
    for (ThresholdStore s : stores.values()) {
      requireContinues(s, cc, tac);
    }

    List<String> datasets = rs.datasetsOr(cs.datasets());
    Map<String, Path> roots = new TreeMap<>();
    for (String d : datasets) {
      roots.put(d, localRoot(rs.root(d, root.toString())));
    }
    List<CorpusPartition> present = CorpusPartitions.scanAll(roots);
    long seed = config.ingest().seed();
    int maxLength = Math.min(config.model().maxSequenceLength(), info.maxPositions());
    CalibrateJob capture = new CalibrateJob(spark).config(config);
    String run = VersionedDirectory.timestampVersion(clock);
    Map<List<CorpusPartition>, Long> rejectedOf = new HashMap<>();
    long[] rejected = {0, 0};
    // One capture of the new partitions serves every placement: each store's plan is the same when
    // their watermarks are, and the state is copied because a refresh merges into it.
    Map<List<CorpusPartition>, byte[]> captured = new HashMap<>();
    long[] sequences = {0};
    Refresh.Calibrator calibrator = parts -> {
      byte[] bytes = captured.get(parts);
      if (bytes == null) {
        Map<String, List<String>> files = new TreeMap<>();
        for (CorpusPartition p : parts) {
          files.computeIfAbsent(p.dataset(), k -> new ArrayList<>())
              .add(roots.get(p.dataset()).resolve(p.id()).toUri().toString());
        }
        Dataset<Row> checked = checked(files, info, maxLength, seed);
        long r = RejectedSequences.quarantine(spark, checked, root.toUri().toString(), "refresh", run,
            cs.maxRejectedFraction(), parts.size() + " new partitions").rejected();
        rejectedOf.put(List.copyOf(parts), r);
        rejected[1] += r;
        Dataset<Row> seqs = usable(checked, "calibration");
        long n = seqs.count();
        LOG.info("refresh: {} new partitions, {} sequences, {} rejected", parts.size(), n, r);
        sequences[0] += n;
        CalibrationState state = n == 0 ? new CalibrationState(geometry, cc)
            : capture.capture(seqs, n, geometry, cc);
        bytes = state.serialize();
        captured.put(List.copyOf(parts), bytes);
      }
      rejected[0] = rejectedOf.get(parts);
      return CalibrationState.deserialize(bytes);
    };

    // The correction's sample is drawn from every partition present, as calibrate draws it from every
    // partition of its datasets: the same sample and merged state publish the same thresholds.
    Map<List<CorpusPartition>, List<int[]>> samples = new HashMap<>();
    int sampleSize = CalibrateJob.depthCorrectionSampleSize(cs);
    Refresh.Corrector corrector = (table, all) -> {
      List<int[]> sample = samples.computeIfAbsent(List.copyOf(all), parts -> {
        if (sampleSize == 0) {
          return List.of();
        }
        Map<String, List<String>> files = new TreeMap<>();
        for (CorpusPartition p : parts) {
          files.computeIfAbsent(p.dataset(), k -> new ArrayList<>())
              .add(roots.get(p.dataset()).resolve(p.id()).toUri().toString());
        }
        List<int[]> out = new ArrayList<>();
        for (Row r : sequences(files, "calibration", info, maxLength, seed).orderBy("order_key")
            .limit(sampleSize).select("input_ids").collectAsList()) {
          out.add(r.<Integer>getList(0).stream().mapToInt(Integer::intValue).toArray());
        }
        return out;
      });
      return sample.isEmpty() ? null
          : SamplePasses.depthCorrection(spark, config.model().id(), table, sample, "refresh");
    };

    List<String> holdout = rs.holdoutOr(datasets);
    Map<String, List<int[]>> holdouts = new TreeMap<>();
    Gates gates = new Gates(config.report().gates().maxKeptDeviation(),
        config.report().gates().maxQualityLoss());
    Map<Placement, RefreshResult> results = new EnumMap<>(Placement.class);
    for (Placement p : placements) {
      // The holdout sequences are read when the first candidate is judged, not when nothing is new.
      CandidateGate gate = candidate -> {
        if (holdouts.isEmpty()) {
          holdouts.putAll(holdouts(holdout, datasets, root, info, maxLength, seed, run, rejected));
        }
        return new ReportGate(model, holdouts, rs.gateK(), p, rs.gateCompensation().of(p), gates)
            .evaluate(candidate);
      };
      RefreshResult r = Refresh.of(stores.get(p)).model(info).config(cc).placement(p)
          .partitions(present).calibrator(calibrator).corrector(corrector).gate(gate).retention(rs.retention()).seed(seed)
          .counts(Map.of(CalibrateJob.TOP_K_AT_CALIBRATION, tac ? 1L : 0L))
          .calibrationCounts(() -> Map.of(RejectedSequences.COUNT, rejected[0])).execute();
      LOG.info("refresh {}: {}", p.name().toLowerCase(Locale.ROOT), r.message());
      results.put(p, r);
    }
    return new RefreshJobResult(results, sequences[0], rejected[1], Duration.ofNanos(System.nanoTime() - t0));
  }

  /**
   * Refuses, naming the config key, a refresh whose calibration settings differ from those of the
   * store's current version: the state's sums would mean something else.
   */
  private static void requireContinues(ThresholdStore store, CalibrationConfig cc, boolean tac)
      throws IOException {
    String current = store.current().orElse(null);
    if (current == null) {
      return;
    }
    ThresholdManifest m = store.manifest(current);
    // first, as it also decides the histogram layout (per-k histograms) compared below
    Long recorded = m.counts().other().get(CalibrateJob.TOP_K_AT_CALIBRATION);
    if (recorded != null && (recorded == 1L) != tac) {
      throw new ConfigException("'calibration.top_k_at_calibration' is " + tac + " for this model but the"
          + " current version " + store.root().resolve(current) + " was calibrated with " + (recorded == 1L)
          + "; a refresh continues the current state and must use the same value (run a full calibration"
          + " to change it)");
    }
    try {
      RefreshPlan.requireCompatible(m.provenance().config(), cc);
    } catch (IllegalArgumentException e) {
      String msg = e.getMessage();
      for (Map.Entry<String, String> k : KEYS.entrySet()) {
        if (msg.startsWith("'" + k.getKey() + "'")) {
          msg = "'" + k.getValue() + "'" + msg.substring(k.getKey().length() + 2);
        }
      }
      throw new ConfigException(msg + " (" + store.root().resolve(current) + ")");
    }
  }

  /**
   * The holdout sequences the gate judges, per dataset. Rows of a dataset that is judged but not refreshed
   * that the model cannot take are quarantined here (a refreshed dataset's are, with its new partitions, by
   * the calibrator) and added to {@code rejected[1]}.
   */
  private Map<String, List<int[]>> holdouts(List<String> names, List<String> refreshed, Path root,
      ModelInfo info, int maxLength, long seed, String run, long[] rejected) throws IOException {
    RefreshSettings rs = config.refresh();
    Map<String, List<int[]>> out = new LinkedHashMap<>();
    for (String name : names) {
      Path dir = localRoot(rs.root(name, root.toString()));
      List<String> files = new ArrayList<>();
      for (CorpusPartition p : CorpusPartitions.scan(name, dir)) {
        files.add(dir.resolve(p.id()).toUri().toString());
      }
      if (files.isEmpty()) {
        throw new IOException("holdout dataset '" + name + "' ('refresh.holdout') has no partition under "
            + dir);
      }
      List<String> columns = Arrays.asList(spark.read().parquet(files.toArray(new String[0])).columns());
      if (!columns.contains("split") && refreshed.contains(name)) {
        throw new ConfigException("'refresh.holdout' names '" + name + "', which is also refreshed and has"
            + " no 'split' column: its rows would be calibrated on and judged; name a dataset of holdout"
            + " data only");
      }
      Dataset<Row> checked = checked(Map.of(name, files), info, maxLength, seed);
      if (!refreshed.contains(name)) {
        rejected[1] += RejectedSequences.quarantine(spark, checked.filter(col("split").isNull()
                .or(col("split").equalTo("holdout"))), root.toUri().toString(), "refresh", run,
            config.calibration().maxRejectedFraction(), "holdout dataset '" + name + "'").rejected();
      }
      List<int[]> seqs = new ArrayList<>();
      for (Row r : usable(checked, "holdout")
          .orderBy("order_key").limit(config.refresh().holdoutSequences()).select("input_ids")
          .collectAsList()) {
        List<Integer> ids = r.getList(0);
        seqs.add(ids.stream().mapToInt(Integer::intValue).toArray());
      }
      if (seqs.isEmpty()) {
        throw new IOException("holdout dataset '" + name + "' (" + dir + ") has no holdout sequence the"
            + " model can take");
      }
      out.put(name, seqs);
    }
    return out;
  }

  /**
   * Token sequences (columns batch_group, input_ids, n_tokens, order_key) of Parquet files by dataset that
   * the model can take, of {@code split} when the files have that column (see {@link #checked}).
   */
  private Dataset<Row> sequences(Map<String, List<String>> filesByDataset, String split, ModelInfo info,
      int maxLength, long seed) {
    return usable(checked(filesByDataset, info, maxLength, seed), split);
  }

  private static Dataset<Row> usable(Dataset<Row> checked, String split) {
    return checked.filter(col("split").isNull().or(col("split").equalTo(split))
            .and(col(RejectedSequences.COLUMN).isNull()))
        .select(CalibrateJob.BATCH_GROUP, "input_ids", "n_tokens", "order_key");
  }

  /**
   * Every row of Parquet files by dataset, batched per file as calibrate batches them, with the order key
   * calibrate gives ingested rows and its {@link RejectedSequences} reason: ingested files as they are,
   * text files tokenized and cut to {@code maxLength}. Columns batch_group, order_key and
   * {@link RejectedSequences#COLUMNS}.
   */
  private Dataset<Row> checked(Map<String, List<String>> filesByDataset, ModelInfo info, int maxLength,
      long seed) {
    String textColumn = config.refresh().textColumn();
    Dataset<Row> all = null;
    for (Map.Entry<String, List<String>> e : filesByDataset.entrySet()) {
      Dataset<Row> df = spark.read().parquet(e.getValue().toArray(new String[0]));
      List<String> columns = Arrays.asList(df.columns());
      df = df.withColumn(CalibrateJob.BATCH_GROUP, CalibrateJob.batchGroup(lit(e.getKey())));
      if (!columns.contains("input_ids") && !columns.contains(textColumn)) {
        throw new ConfigException("the partitions of dataset '" + e.getKey() + "' have neither an"
            + " 'input_ids' column nor the text column '" + textColumn + "' ('refresh.text_column');"
            + " columns: " + columns + "; files: " + e.getValue());
      }
      if (!columns.contains("input_ids")) {
        String modelId = info.id();
        UDF1<String, List<Integer>> encode = text -> {
          int[] ids = ExecutorModels.tokenizer(modelId).tokenizer().encode(text == null ? "" : text);
          return Arrays.stream(ids.length > maxLength ? Arrays.copyOf(ids, maxLength) : ids).boxed().toList();
        };
        df = df.withColumn("input_ids", org.apache.spark.sql.functions.udf(encode,
            DataTypes.createArrayType(DataTypes.IntegerType, false)).apply(col(textColumn)));
      }
      boolean ingested = columns.contains("doc_id") && columns.contains("seq_id");
      df = RejectedSequences.check(df.withColumn("n_tokens", size(col("input_ids"))), lit(e.getKey()), info)
          .withColumn("order_key", ingested
              ? JobSupport.orderKey(seed, lit(e.getKey()))
              : sha2(concat_ws("#", lit(seed), lit(e.getKey()), col("input_ids").cast("string")), 256))
          .select(CalibrateJob.BATCH_GROUP, Stream.concat(Stream.of("order_key"),
              RejectedSequences.COLUMNS.stream()).toArray(String[]::new));
      all = all == null ? df : all.unionByName(df);
    }
    return all;
  }

  private static List<String> lower(List<Placement> ps) {
    return ps.stream().map(p -> p.name().toLowerCase(Locale.ROOT)).toList();
  }
}
