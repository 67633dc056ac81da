package io.thetacal.jobs.refresh;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.exists;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.size;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.CorpusPartition;
import io.thetacal.io.CandidateGate;
import io.thetacal.io.CorpusPartitions;
import io.thetacal.io.Refresh;
import io.thetacal.io.RefreshResult;
import io.thetacal.io.RefreshSettings;
import io.thetacal.io.ThresholdStore;
import io.thetacal.jobs.calibrate.CalibrateJob;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.spark.ExecutorModels;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.TransformerModel;
import io.thetacal.report.Gates;
import io.thetacal.report.ReportGate;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;

/**
 * {@code thetacal refresh}: a Spark adapter over {@link Refresh}. The store is the placement's
 * directory that {@code thetacal calibrate} publishes into ({@code <output>/thresholds/<placement>/});
 * the refresh's calibrator reads the new partition files with Spark and captures them through the
 * calibrate job's own path ({@link CalibrateJob#capture}); the gate is {@link ReportGate} on the
 * holdout datasets. Partition files are either ingested datasets ({@code input_ids}, and
 * {@code split}: only its calibration rows are calibrated, only its holdout rows judged) or raw text
 * in {@code textColumn}, tokenized with the model's tokenizer and cut to its maximum length.
 */
public final class RefreshJob {
  /** Holdout sequences per dataset the gate evaluates. */
  public static final int GATE_SEQUENCES = 64;

  private final SparkSession spark;
  private RefreshSettings settings;
  private Clock clock = Clock.systemUTC();

  public RefreshJob(SparkSession spark) {
    this.spark = Objects.requireNonNull(spark, "spark");
  }

  public RefreshJob settings(RefreshSettings s) {
    this.settings = s;
    return this;
  }

  public RefreshJob clock(Clock c) {
    this.clock = Objects.requireNonNull(c);
    return this;
  }

  /** The store of a placement under an output root: where calibrate publishes that placement. */
  public static ThresholdStore store(Path outputRoot, Placement placement, Clock clock) {
    return new ThresholdStore(outputRoot.toAbsolutePath().resolve(ThresholdStore.DIRECTORY)
        .resolve(placement.name().toLowerCase(Locale.ROOT)), clock);
  }

  public RefreshResult execute() throws IOException {
    RefreshSettings s = Objects.requireNonNull(settings, "settings must be set before execute()");
    TransformerModel model = ExecutorModels.model(s.model());
    ModelInfo info = model.info();
    CalibrationGeometry geometry = CalibrationGeometry.of(info);
    CalibrationConfig cc = s.calibrationConfig();
    Map<String, Path> roots = new TreeMap<>();
    s.datasets().forEach((name, root) -> roots.put(name, Path.of(root)));
    List<CorpusPartition> present = CorpusPartitions.scanAll(roots);
    ThetacalConfig jobConfig = ConfigLoader.load(List.of("model.id=" + s.model()));
    CalibrateJob capture = new CalibrateJob(spark).config(jobConfig);
    Refresh.Calibrator calibrator = parts -> {
      List<String> files = new ArrayList<>();
      for (CorpusPartition p : parts) {
        files.add(roots.get(p.dataset()).resolve(p.id()).toAbsolutePath().toUri().toString());
      }
      Dataset<Row> seqs = sequences(files, "calibration", info, s.textColumn(), s.seed());
      long n = seqs.count();
      if (n == 0) {
        return new CalibrationState(geometry, cc);
      }
      return capture.capture(seqs, n, geometry, cc);
    };
    CandidateGate gate = CandidateGate.none();
    if (s.gate() != null) {
      Map<String, List<int[]>> holdouts = new TreeMap<>();
      for (Map.Entry<String, String> e : s.holdout().entrySet()) {
        String uri = Path.of(e.getValue()).toAbsolutePath().toUri().toString();
        List<int[]> seqs = new ArrayList<>();
        for (Row r : sequences(List.of(uri), "holdout", info, s.textColumn(), s.seed())
            .orderBy("order_key").limit(GATE_SEQUENCES).select("input_ids").collectAsList()) {
          List<Integer> ids = r.getList(0);
          seqs.add(ids.stream().mapToInt(Integer::intValue).toArray());
        }
        if (seqs.isEmpty()) {
          throw new IOException("holdout dataset '" + e.getKey() + "' (" + e.getValue()
              + ") has no sequence the model can take");
        }
        holdouts.put(e.getKey(), seqs);
      }
      gate = new ReportGate(model, holdouts, s.gate().k(), s.placement(),
          new Gates(s.gate().maxKeptDeviation(), s.gate().maxQualityLoss()));
    }
    return Refresh.of(store(Path.of(s.output()), s.placement(), clock))
        .model(info).config(cc).placement(s.placement()).partitions(present).calibrator(calibrator)
        .gate(gate).retention(s.retention()).seed(s.seed()).execute();
  }

  /**
   * Token sequences of Parquet files (columns input_ids, n_tokens, order_key): ingested files keep the
   * rows of {@code split} (when they have that column); text files are tokenized and cut to the model's
   * maximum length. Sequences with ids outside the vocabulary or too long are left out.
   */
  private Dataset<Row> sequences(List<String> files, String split, ModelInfo info, String textColumn,
      long seed) {
    Dataset<Row> df = spark.read().parquet(files.toArray(new String[0]));
    List<String> columns = Arrays.asList(df.columns());
    if (columns.contains("input_ids")) {
      if (columns.contains("split")) {
        df = df.filter(col("split").equalTo(split));
      }
    } else if (columns.contains(textColumn)) {
      String modelId = info.id();
      int max = info.maxPositions();
      UDF1<String, int[]> encode = text -> {
        int[] ids = ExecutorModels.tokenizer(modelId).tokenizer().encode(text == null ? "" : text);
        return ids.length > max ? Arrays.copyOf(ids, max) : ids;
      };
      df = df.withColumn("input_ids", org.apache.spark.sql.functions.udf(
          (UDF1<String, List<Integer>>) t -> Arrays.stream(encode.call(t)).boxed().toList(),
          DataTypes.createArrayType(DataTypes.IntegerType, false)).apply(col(textColumn)));
    } else {
      throw new IllegalArgumentException("partition files " + files + " have neither an 'input_ids' column"
          + " nor the text column '" + textColumn + "' ('textColumn'); columns: " + columns);
    }
    return df.withColumn("n_tokens", size(col("input_ids")))
        .filter(col("n_tokens").gt(0).and(col("n_tokens").leq(info.maxPositions()))
            .and(org.apache.spark.sql.functions.not(exists(col("input_ids"),
                x -> x.lt(0).or(x.geq(info.vocabSize()))))))
        .withColumn("order_key", sha2(concat_ws("#", lit(seed), col("input_ids").cast("string")), 256))
        .select("input_ids", "n_tokens", "order_key");
  }
}
