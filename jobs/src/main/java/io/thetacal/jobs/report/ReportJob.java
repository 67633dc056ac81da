package io.thetacal.jobs.report;

import static org.apache.spark.sql.functions.col;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.HistogramCell;
import io.thetacal.calibration.ThresholdTable;
import io.thetacal.io.CodeVersion;
import io.thetacal.io.StateFiles;
import io.thetacal.io.ThresholdStore;
import io.thetacal.io.ThresholdManifest;
import io.thetacal.io.VersionedDirectory;
import io.thetacal.jobs.config.CalibrationSettings;
import io.thetacal.jobs.config.ConfigException;
import io.thetacal.jobs.config.DatasetSpec;
import io.thetacal.jobs.config.ReportSettings;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.spark.ExecutorModels;
import io.thetacal.jobs.spark.JobSupport;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.TransformerModel;
import io.thetacal.report.Compensation;
import io.thetacal.report.DecoderQuality;
import io.thetacal.report.EncoderQuality;
import io.thetacal.report.Gates;
import io.thetacal.report.HeadDrift;
import io.thetacal.report.HeadHistogram;
import io.thetacal.report.HtmlReport;
import io.thetacal.report.ReportCell;
import io.thetacal.report.ReportData;
import io.thetacal.report.ReportEvaluator;
import io.thetacal.report.ThresholdCurve;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code thetacal report}: do thresholds calibrated on one dataset hold on another? Reads, per
 * placement, the current version of the store under {@code <out>/thresholds/<placement>/} and the newest
 * version of every other calibration dataset (set) there, samples the holdout split of the evaluation datasets with
 * Spark, measures every cell with {@link ReportEvaluator} on the driver, judges them with {@link Gates}
 * and writes {@code <out>/report/report.parquet} (one row per cell), {@code report.json} and the
 * self-contained {@code report.html} ({@link HtmlReport}).
 */
public final class ReportJob {
  private static final Logger LOG = LoggerFactory.getLogger(ReportJob.class);

  static final StructType CELL_SCHEMA = new StructType()
      .add("calibration_dataset", DataTypes.StringType, true)
      .add("evaluation_dataset", DataTypes.StringType, false)
      .add("k", DataTypes.IntegerType, false)
      .add("placement", DataTypes.StringType, true)
      .add("compensation", DataTypes.StringType, false)
      .add("method", DataTypes.StringType, false)
      .add("cross_domain", DataTypes.BooleanType, false)
      .add("kept_rows", DataTypes.LongType, false)
      .add("kept_over_k_mean", DataTypes.DoubleType, false)
      .add("kept_over_k_p5", DataTypes.DoubleType, false)
      .add("kept_over_k_p95", DataTypes.DoubleType, false)
      .add("kept_over_k_per_layer", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
      .add("attention_fraction", DataTypes.DoubleType, false)
      .add("v_row_fraction", DataTypes.DoubleType, false)
      .add("output_rel_error", DataTypes.DoubleType, false)
      .add("attention_rel_error", DataTypes.DoubleType, false)
      .add("attention_rel_error_per_layer", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
      .add("quality_loss", DataTypes.DoubleType, false)
      .add("mean_cosine", DataTypes.DoubleType, true)
      .add("mrr_dense", DataTypes.DoubleType, true)
      .add("mrr_sparse", DataTypes.DoubleType, true)
      .add("nll_dense", DataTypes.DoubleType, true)
      .add("nll_sparse", DataTypes.DoubleType, true)
      .add("top1_agreement", DataTypes.DoubleType, true)
      .add("pass", DataTypes.BooleanType, false)
      .add("reason", DataTypes.StringType, false)
      .add("threshold_version", DataTypes.StringType, true);

  private final SparkSession spark;
  private ThetacalConfig config;
  private String outputRoot;

  public ReportJob(SparkSession spark) {
    this.spark = Objects.requireNonNull(spark, "spark");
  }

  /** The configuration to run with (required). */
  public ReportJob config(ThetacalConfig c) {
    this.config = c;
    return this;
  }

  /** Output root holding corpora/ and thresholds/ and receiving report/; default: output.root. */
  public ReportJob outputRoot(String root) {
    this.outputRoot = root;
    return this;
  }

  /** One published threshold table and where it came from. */
  record Published(String calibration, Placement placement, String version, Path dir,
      ThresholdTable table, List<HeadHistogram> histograms) {
  }

  public ReportResult execute() {
    Objects.requireNonNull(config, "config must be set before execute()");
    long t0 = System.nanoTime();
    Phases phases = new Phases();
    String root = outputRoot != null ? outputRoot : config.output().root();
    Path localRoot = localPath(root);
    ReportSettings rs = config.report();
    CalibrationSettings cs = config.calibration();
    String modelId = config.model().id();
    TransformerModel model = ExecutorModels.model(modelId);
    ModelInfo info = model.info();
    phases.end("model load");

    for (int i = 0; i < rs.ks().size(); i++) {
      if (!cs.kGrid().contains(rs.ks().get(i))) {
        throw new ConfigException("'report.ks[" + i + "]' is set to " + rs.ks().get(i)
            + " but must be one of 'calibration.k_grid' " + cs.kGrid());
      }
    }
    List<Published> published = published(localRoot, cs.placements(), modelId, info.contentHash());
    phases.end("threshold tables and calibration histograms");
    List<ReportEvaluator.EvalDataset> datasets = evaluationDatasets(root, rs, info);
    phases.end("holdout sample (Spark)");
    ReportEvaluator.Grid grid = new ReportEvaluator.Grid(rs.ks(), cs.placements(), rs.compensations(),
        rs.topK());
    for (Published p : published) {
      for (int k : rs.ks()) {
        if (!java.util.Arrays.stream(p.table().kGrid()).boxed().toList().contains(k)) {
          throw new ConfigException("'report.ks' contains " + k + " but threshold version " + p.dir()
              + " was calibrated for k " + java.util.Arrays.stream(p.table().kGrid()).boxed().toList() + "; recalibrate or choose ks from it");
        }
      }
    }
    List<ReportEvaluator.CalibratedThresholds> tables = published.stream()
        .map(p -> new ReportEvaluator.CalibratedThresholds(p.calibration(), p.table(), p.histograms()))
        .toList();
    LOG.info("report: {} threshold tables x {} evaluation datasets ({} sequences) on {}",
        tables.size(), datasets.size(), datasets.stream().mapToInt(d -> d.sequences().size()).sum(), modelId);
    ReportEvaluator.Result measured = JobSupport.withJobGroup(spark, "thetacal-report-evaluate",
        "report: evaluate " + tables.size() + " threshold tables", () ->
            new ReportEvaluator(model, config.model().batchSize()).evaluate(tables, datasets, grid));
    phases.end("forward passes and metrics");

    Gates gates = new Gates(rs.gates().maxKeptDeviation(), rs.gates().maxQualityLoss());
    int focusK = rs.ks().get(0);
    Placement focusPlacement = cs.placements().get(0);
    Compensation focusCompensation = rs.compensations().contains(Compensation.NONE) ? Compensation.NONE
        : rs.compensations().stream().filter(c -> c.appliesTo(focusPlacement)).findFirst()
            .orElse(Compensation.NONE);
    List<ThresholdCurve> curves = curves(published, measured.drift(), focusK, focusPlacement);
    Map<String, String> versions = new LinkedHashMap<>();
    versions.put("thetacal", CodeVersion.current());
    versions.put("model", modelId);
    versions.put("model.sha256", info.contentHash());
    versions.put("java", System.getProperty("java.version"));
    Map<String, String> inputs = new LinkedHashMap<>();
    Map<String, String> thresholdDirs = new TreeMap<>();
    for (Published p : published) {
      String key = p.calibration() + " / " + p.placement().name().toLowerCase(Locale.ROOT);
      inputs.put("thresholds " + key, p.version() + " (" + p.dir() + ")");
      thresholdDirs.put(key, p.dir().toString());
    }
    for (ReportEvaluator.EvalDataset d : datasets) {
      inputs.put("holdout " + d.name(), d.sequences().size() + " sequences, "
          + d.sequences().stream().mapToLong(s -> s.length).sum() + " tokens");
    }
    ReportData data = ReportData.assemble("Top-θ robustness report: " + modelId, gates, measured.cells(),
        measured.drift(), 10, curves, focusK, focusPlacement, focusCompensation, versions, inputs);

    Path dir = localRoot.resolve("report");
    phases.end("judge and assemble");
    Path html = HtmlReport.write(data, dir);
    phases.end("report.html and report.json");
    Path parquet = dir.resolve("report.parquet");
    Map<String, String> versionOf = new LinkedHashMap<>();
    published.forEach(p -> versionOf.put(p.calibration() + "/" + p.placement(), p.version()));
    List<Row> rows = data.cells().stream().map(c -> row(c, versionOf)).toList();
    try {
      JobSupport.writeSingleParquet(spark, rows, CELL_SCHEMA, parquet);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + parquet, e);
    }
    phases.end("report.parquet (Spark)");
    Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
    ReportEvaluator.Timing tm = measured.timing();
    LOG.info(String.format(Locale.ROOT, "report timing (wall s / process CPU s): %s; within the forward"
        + " passes: dense %.1f / %.1f, sparse %.1f / %.1f, comparison %.1f / %.1f", phases,
        tm.denseWallSeconds(), tm.denseCpuSeconds(), tm.sparseWallSeconds(), tm.sparseCpuSeconds(),
        tm.compareWallSeconds(), tm.compareCpuSeconds()));
    LOG.info(String.format(Locale.ROOT, "report: %d cells (%d pass), %d forward passes, %.1f s -> %s",
        data.summary().cells(), data.summary().passed(), measured.forwardPasses(),
        elapsed.toMillis() / 1000.0, html));
    return new ReportResult(html.toString(), dir.resolve(HtmlReport.JSON_FILE).toString(), parquet.toString(),
        thresholdDirs, data.summary().cells(), data.summary().passed(), measured.forwardPasses(), elapsed);
  }

  /** Wall and process CPU time of the job's phases, for its log. */
  private static final class Phases {
    private static final com.sun.management.OperatingSystemMXBean OS =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean()
            instanceof com.sun.management.OperatingSystemMXBean b ? b : null;
    private final StringBuilder text = new StringBuilder();
    private long wall = System.nanoTime();
    private long cpu = cpu();

    private static long cpu() {
      return OS == null ? -1 : OS.getProcessCpuTime();
    }

    void end(String phase) {
      long w = System.nanoTime();
      long c = cpu();
      text.append(text.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%s %.1f / %s", phase,
          (w - wall) / 1e9, c < 0 || cpu < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", (c - cpu) / 1e9)));
      wall = w;
      cpu = c;
    }

    @Override
    public String toString() {
      return text.toString();
    }
  }

  /** The newest complete version per calibration dataset (set) and placement. */
  private static List<Published> published(Path localRoot, List<Placement> placements, String modelId,
      String modelHash) {
    List<Published> out = new ArrayList<>();
    Path thresholds = localRoot.resolve("thresholds");
    for (Placement placement : placements) {
      VersionedDirectory vd = new VersionedDirectory(thresholds.resolve(placement.name().toLowerCase(Locale.ROOT)));
      Map<String, String> newest = new TreeMap<>();
      Map<String, ThresholdManifest> manifests = new TreeMap<>();
      try {
        for (String v : vd.versions()) {
          ThresholdManifest m = ThresholdManifest.read(vd.open(v).resolve(ThresholdManifest.FILE_NAME));
          if (!m.provenance().modelContentHash().equals(modelHash)) {
            LOG.warn("report: skipping {} (model {}, not {})", vd.root().resolve(v), m.provenance().modelId(),
                modelId);
            continue;
          }
          String label = String.join("+", m.provenance().corpusFingerprints().keySet());
          newest.put(label, v);
          manifests.put(label, m);
        }
        if (Files.exists(vd.root().resolve(ThresholdStore.POINTER))) {
          String current = new ThresholdStore(vd.root(), java.time.Clock.systemUTC()).current().orElseThrow();
          ThresholdManifest m = ThresholdManifest.read(vd.open(current).resolve(ThresholdManifest.FILE_NAME));
          if (m.provenance().modelContentHash().equals(modelHash)) {
            String label = String.join("+", m.provenance().corpusFingerprints().keySet());
            newest.put(label, current);
            manifests.put(label, m);
          }
        }
        for (Map.Entry<String, String> e : newest.entrySet()) {
          Path dir = vd.open(e.getValue());
          CalibrationState state = StateFiles.read(dir.resolve(StateFiles.FILE_NAME));
          out.add(new Published(e.getKey(), placement, e.getValue(), dir, manifests.get(e.getKey()).toTable(),
              headHistograms(state)));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read threshold versions under " + vd.root() + ": "
            + e.getMessage(), e);
      }
    }
    if (out.isEmpty()) {
      throw new ReportException("No threshold version for model " + modelId + " and placements " + placements
          + " under " + thresholds + "; run 'thetacal calibrate' first");
    }
    return out;
  }

  /** Per-head score histograms of the calibration data (all row lengths together), for drift. */
  static List<HeadHistogram> headHistograms(CalibrationState state) {
    List<HistogramCell> cells = state.histograms();
    if (cells.isEmpty()) {
      return List.of();
    }
    CalibrationGeometry g = state.geometry();
    long[][] sums = new long[g.numLayers() * g.numHeads()][];
    double min = Double.NaN;
    double max = Double.NaN;
    for (HistogramCell c : cells) {
      long[] counts = c.histogram().counts();
      int i = c.layer() * g.numHeads() + c.head();
      if (sums[i] == null) {
        sums[i] = new long[counts.length];
      }
      for (int j = 0; j < counts.length; j++) {
        sums[i][j] += counts[j];
      }
      min = c.histogram().min();
      max = c.histogram().max();
    }
    List<HeadHistogram> out = new ArrayList<>();
    for (int l = 0; l < g.numLayers(); l++) {
      for (int h = 0; h < g.numHeads(); h++) {
        long[] s = sums[l * g.numHeads() + h];
        if (s != null) {
          out.add(HeadHistogram.withOpenEnds(l, h, min, max, s));
        }
      }
    }
    return out;
  }

  /** The holdout split of each evaluation dataset, a seeded-hash sample of report.max_sequences. */
  private List<ReportEvaluator.EvalDataset> evaluationDatasets(String root, ReportSettings rs, ModelInfo info) {
    List<String> names = rs.datasets().isEmpty()
        ? config.corpora().stream().map(DatasetSpec::name).toList() : rs.datasets();
    String corpora = JobSupport.path(root, "corpora");
    var fs = JobSupport.fs(spark, root);
    List<String> ingested = names.stream()
        .filter(n -> JobSupport.exists(fs, JobSupport.path(root, "corpora", "dataset=" + n))).toList();
    List<String> missing = names.stream().filter(n -> !ingested.contains(n)).toList();
    if (!missing.isEmpty() && !rs.datasets().isEmpty()) {
      throw new ReportException("Evaluation datasets " + missing + " of 'report.datasets' have not been"
          + " ingested under " + corpora + "; run 'thetacal ingest' first");
    }
    if (ingested.isEmpty()) {
      throw new ReportException("No ingested dataset under " + corpora + "; run 'thetacal ingest' first");
    }
    missing.forEach(n -> LOG.warn("report: dataset {} is not ingested under {}; not evaluated", n, corpora));
    long seed = config.ingest().seed();
    List<Row> rows = JobSupport.withJobGroup(spark, "thetacal-report-read", "report: sample holdout sequences",
        () -> spark.read().parquet(corpora)
            .filter(col("dataset").isin(ingested.toArray()).and(col("split").equalTo("holdout"))
                .and(col("n_tokens").leq(info.maxPositions())))
            .withColumn("order_key", JobSupport.orderKey(seed, col("dataset")))
            .withColumn("rank", org.apache.spark.sql.functions.row_number().over(
                org.apache.spark.sql.expressions.Window.partitionBy("dataset").orderBy("order_key")))
            .filter(col("rank").leq(rs.maxSequences()))
            .select("dataset", "input_ids", "order_key").collectAsList());
    // Ordered here rather than by a global sort in Spark, which costs a sampling job and a shuffle.
    rows = rows.stream().sorted(Comparator.comparing((Row r) -> r.getString(2))).toList();
    Map<String, List<int[]>> byDataset = new LinkedHashMap<>();
    ingested.forEach(n -> byDataset.put(n, new ArrayList<>()));
    for (Row r : rows) {
      List<Integer> ids = r.getList(1);
      int[] seq = ids.stream().mapToInt(Integer::intValue).toArray();
      for (int id : seq) {
        if (id < 0 || id >= info.vocabSize()) {
          throw new ReportException("Dataset '" + r.getString(0) + "' has token id " + id + " outside the"
              + " vocabulary of " + info.id() + " (" + info.vocabSize() + "); ingest it for this model");
        }
      }
      byDataset.get(r.getString(0)).add(seq);
    }
    List<ReportEvaluator.EvalDataset> out = new ArrayList<>();
    byDataset.forEach((name, seqs) -> {
      if (seqs.isEmpty()) {
        LOG.warn("report: dataset {} has no holdout sequence; not evaluated", name);
      } else {
        out.add(new ReportEvaluator.EvalDataset(name, seqs, List.of()));
      }
    });
    if (out.isEmpty()) {
      throw new ReportException("No holdout sequences in " + corpora + " for datasets " + ingested);
    }
    return out;
  }

  /** θ against row length for the three most drifted heads (or L0.H0), per calibration dataset. */
  private List<ThresholdCurve> curves(List<Published> published, List<HeadDrift> drift, int k,
      Placement placement) {
    List<int[]> heads = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    drift.stream().sorted(Comparator.comparingDouble(HeadDrift::wasserstein1).reversed())
        .filter(d -> seen.add(d.layer() + "." + d.head())).limit(3)
        .forEach(d -> heads.add(new int[] {d.layer(), d.head()}));
    if (heads.isEmpty()) {
      heads.add(new int[] {0, 0});
    }
    int maxLength = config.model().maxSequenceLength();
    List<ThresholdCurve> out = new ArrayList<>();
    if (maxLength <= k) {
      return out;
    }
    int step = Math.max(1, (maxLength - k) / 48);
    for (Published p : published) {
      if (p.placement() != placement) {
        continue;
      }
      for (int[] h : heads) {
        out.add(ThresholdCurve.sample(p.calibration(), p.table(), k, h[0], h[1], maxLength, step));
      }
    }
    return out;
  }

  private static Row row(ReportCell c, Map<String, String> versionOf) {
    Double cosine = null;
    Double mrrDense = null;
    Double mrrSparse = null;
    Double nllDense = null;
    Double nllSparse = null;
    Double top1 = null;
    if (c.quality() instanceof EncoderQuality q) {
      cosine = q.meanCosine();
      mrrDense = q.pairs() > 0 ? q.mrrDense() : null;
      mrrSparse = q.pairs() > 0 ? q.mrrSparse() : null;
    } else if (c.quality() instanceof DecoderQuality q) {
      nllDense = q.nllDense();
      nllSparse = q.nllSparse();
      top1 = q.top1Agreement();
    }
    return RowFactory.create(c.calibrationDataset(), c.evaluationDataset(), c.k(),
        c.placement() == null ? null : c.placement().name().toLowerCase(Locale.ROOT),
        c.compensation().name().toLowerCase(Locale.ROOT), c.method().name().toLowerCase(Locale.ROOT),
        c.crossDomain(), c.kept().rows(), c.kept().mean(), c.kept().p5(), c.kept().p95(),
        c.kept().perLayerMean().toArray(new Double[0]), c.attentionFraction(), c.vRowFraction(),
        c.outputRelError(), c.attentionRelError(), c.attentionRelErrorPerLayer().toArray(new Double[0]),
        c.quality().loss(), cosine, mrrDense, mrrSparse, nllDense, nllSparse, top1,
        c.verdict().pass(), c.verdict().reason(),
        c.placement() == null ? null : versionOf.get(c.calibrationDataset() + "/" + c.placement()));
  }

  static Path localPath(String root) {
    if (root.startsWith("file:")) {
      return Path.of(java.net.URI.create(root));
    }
    if (root.contains("://")) {
      throw new ConfigException("'output.root' is set to '" + root + "' but the report and the threshold"
          + " store live on a local file system; use a local path");
    }
    return Path.of(root).toAbsolutePath();
  }
}
