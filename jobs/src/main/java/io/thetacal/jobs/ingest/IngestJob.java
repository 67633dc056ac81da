package io.thetacal.jobs.ingest;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.thetacal.jobs.Provenance;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.DatasetSpec;
import io.thetacal.jobs.config.ThetacalConfig;
import io.thetacal.jobs.spark.ExecutorModels;
import io.thetacal.jobs.spark.JobSupport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code thetacal ingest}: raw sources to Parquet calibration datasets, one row per sequence, under
 * {@code <out>/corpora/dataset=<name>/}, with rejected documents (and why) under
 * {@code <out>/rejected/ingest/dataset=<name>/} and a JSON manifest per dataset under
 * {@code <out>/corpora/_manifests/}. Datasets are replaced whole: a dataset's old output is swapped for
 * the new one only after the new one is completely written, and not at all when the dataset rejects
 * more than {@code ingest.max_rejected_fraction} of its documents.
 */
public final class IngestJob {
  private static final Logger LOG = LoggerFactory.getLogger(IngestJob.class);

  private final SparkSession spark;
  private ThetacalConfig config;
  private String outputRoot;
  private List<String> datasets;

  public IngestJob(SparkSession spark) {
    this.spark = Objects.requireNonNull(spark, "spark");
  }

  /** The configuration to run with (required). */
  public IngestJob config(ThetacalConfig c) {
    this.config = c;
    return this;
  }

  /** Output root; default: {@code output.root} of the configuration. */
  public IngestJob outputRoot(String root) {
    this.outputRoot = root;
    return this;
  }

  /** Ingest only these datasets of {@code corpora}; default: all of them. */
  public IngestJob datasets(List<String> names) {
    this.datasets = List.copyOf(names);
    return this;
  }

  public IngestResult execute() {
    Objects.requireNonNull(config, "config must be set before execute()");
    long t0 = System.nanoTime();
    String root = outputRoot != null ? outputRoot : config.output().root();
    List<DatasetSpec> specs = datasets == null ? config.corpora()
        : datasets.stream().map(config::dataset).toList();
    int partitions = config.spark().partitions();
    String modelId = config.model().id();
    String tokenizerName = ExecutorModels.tokenizer(modelId).tokenizer().name();

    Map<String, CorpusSources.Loaded> loaded = new LinkedHashMap<>();
    Map<String, String> fingerprints = new HashMap<>();
    Dataset<Row> raw = null;
    for (DatasetSpec spec : specs) {
      CorpusSources.Loaded l = JobSupport.withJobGroup(spark, "thetacal-ingest-read",
          "ingest: read and fingerprint " + spec.name(), () -> CorpusSources.load(spark, spec, partitions));
      loaded.put(spec.name(), l);
      LOG.info("ingest: read {} ({}) at {} s", spec.name(), l.origin(), seconds(t0));
      fingerprints.put(spec.name(), l.fingerprint());
      raw = raw == null ? l.rows() : raw.union(l.rows());
    }
    TokenizePartition tokenize = new TokenizePartition(modelId, config.model().maxSequenceLength(),
        config.ingest().chunking(), config.ingest().maxTextChars(), config.ingest().seed(),
        config.ingest().holdoutFraction(), fingerprints);
    Dataset<Row> tokenized = raw.repartition(partitions)
        .mapPartitions(tokenize, Encoders.row(RawSchema.TOKENIZED))
        .persist(StorageLevel.MEMORY_AND_DISK());
    try {
      Map<String, DatasetIngestResult> results = JobSupport.withJobGroup(spark, "thetacal-ingest-tokenize",
          "ingest: tokenize " + loaded.keySet() + " with " + modelId,
          () -> summarize(tokenized, loaded));
      LOG.info("ingest: tokenized at {} s", seconds(t0));
      FileSystem fs = JobSupport.fs(spark, root);
      String corpora = JobSupport.path(root, "corpora");
      String rejected = JobSupport.path(root, "rejected", "ingest");
      String staging = JobSupport.path(root, "_staging", "ingest-" + UUID.randomUUID());
      try {
        JobSupport.withJobGroup(spark, "thetacal-ingest-write-rejected", "ingest: write rejected rows", () -> {
          tokenized.filter(col("reject_reason").isNotNull())
              .select(cols(RawSchema.REJECTED_COLUMNS))
              .write().partitionBy("dataset").parquet(JobSupport.path(staging, "rejected"));
          return null;
        });
        for (String name : results.keySet()) {
          String src = JobSupport.path(staging, "rejected", "dataset=" + name);
          String dst = JobSupport.path(rejected, "dataset=" + name);
          if (JobSupport.exists(fs, src)) {
            JobSupport.replace(fs, src, dst);
          } else {
            JobSupport.delete(fs, dst);
          }
        }
        List<String> failures = new ArrayList<>();
        for (DatasetIngestResult r : results.values()) {
          if (r.rejectedFraction() > config.ingest().maxRejectedFraction()) {
            failures.add(String.format(java.util.Locale.ROOT,
                "dataset '%s' rejected %d of %d documents (%.1f%%), more than "
                    + "ingest.max_rejected_fraction = %s; reasons: %s; see %s",
                r.name(), r.rejected(), r.documents(), 100 * r.rejectedFraction(),
                config.ingest().maxRejectedFraction(), r.rejectedByReason(),
                JobSupport.path(rejected, "dataset=" + r.name())));
          }
        }
        if (!failures.isEmpty()) {
          throw new IngestException("Ingest stopped, nothing was written to " + corpora + ": "
              + String.join("; ", failures));
        }
        JobSupport.withJobGroup(spark, "thetacal-ingest-write", "ingest: write calibration datasets", () -> {
          tokenized.filter(col("reject_reason").isNull())
              .select(cols(RawSchema.SEQUENCE_COLUMNS))
              .write().partitionBy("dataset").parquet(JobSupport.path(staging, "corpora"));
          return null;
        });
        for (DatasetIngestResult r : results.values()) {
          String src = JobSupport.path(staging, "corpora", "dataset=" + r.name());
          String dst = JobSupport.path(corpora, "dataset=" + r.name());
          if (JobSupport.exists(fs, src)) {
            JobSupport.replace(fs, src, dst);
          } else {
            JobSupport.delete(fs, dst);
          }
          JobSupport.writeString(fs, JobSupport.path(corpora, "_manifests", r.name() + ".json"),
              manifest(r, config.dataset(r.name()), tokenizerName));
        }
      } finally {
        JobSupport.delete(fs, staging);
      }
      Duration elapsed = Duration.ofNanos(System.nanoTime() - t0);
      IngestResult result = new IngestResult(corpora, rejected, new ArrayList<>(results.values()), elapsed);
      LOG.info("ingest: {} documents -> {} sequences ({} tokens), {} rejected, in {} s",
          result.documents(), result.sequences(), result.tokens(), result.rejected(),
          elapsed.toMillis() / 1000.0);
      return result;
    } finally {
      tokenized.unpersist();
    }
  }

  private static double seconds(long t0) {
    return Math.round((System.nanoTime() - t0) / 1e8) / 10.0;
  }

  private static org.apache.spark.sql.Column[] cols(String[] names) {
    return java.util.Arrays.stream(names).map(org.apache.spark.sql.functions::col)
        .toArray(org.apache.spark.sql.Column[]::new);
  }

  private static Map<String, DatasetIngestResult> summarize(Dataset<Row> tokenized,
      Map<String, CorpusSources.Loaded> loaded) {
    Map<String, Row> totals = new HashMap<>();
    for (Row r : tokenized.groupBy("dataset").agg(
        sum(when(col("reject_reason").isNull().and(col("seq_id").equalTo(0)), 1).otherwise(0)).as("accepted"),
        sum(when(col("reject_reason").isNotNull(), 1).otherwise(0)).as("rejected"),
        sum(when(col("reject_reason").isNull(), 1).otherwise(0)).as("sequences"),
        sum(col("n_tokens").cast("long")).as("tokens"),
        sum(when(col("split").equalTo(Splits.CALIBRATION), 1).otherwise(0)).as("calibration"),
        sum(when(col("split").equalTo(Splits.HOLDOUT), 1).otherwise(0)).as("holdout"))
        .collectAsList()) {
      totals.put(r.getString(0), r);
    }
    Map<String, Map<String, Long>> reasons = new HashMap<>();
    for (Row r : tokenized.filter(col("reject_reason").isNotNull())
        .groupBy("dataset", "reject_reason").agg(count(lit(1))).collectAsList()) {
      reasons.computeIfAbsent(r.getString(0), k -> new HashMap<>()).put(r.getString(1), r.getLong(2));
    }
    Map<String, DatasetIngestResult> out = new LinkedHashMap<>();
    for (Map.Entry<String, CorpusSources.Loaded> e : loaded.entrySet()) {
      Row t = totals.get(e.getKey());
      long accepted = t == null ? 0 : t.getLong(1);
      long rejected = t == null ? 0 : t.getLong(2);
      out.put(e.getKey(), new DatasetIngestResult(e.getKey(), e.getValue().fingerprint(),
          e.getValue().origin(), accepted + rejected, rejected,
          reasons.getOrDefault(e.getKey(), Map.of()),
          t == null ? 0 : t.getLong(3), t == null || t.isNullAt(4) ? 0 : t.getLong(4),
          t == null ? 0 : t.getLong(5), t == null ? 0 : t.getLong(6), e.getValue().undetected()));
    }
    return out;
  }

  private String manifest(DatasetIngestResult r, DatasetSpec spec, String tokenizerName) {
    ObjectNode m = ConfigLoader.json().createObjectNode();
    m.put("format", "thetacal-corpus/1");
    m.set("result", ConfigLoader.json().valueToTree(r));
    m.set("source", ConfigLoader.json().valueToTree(spec.source()));
    m.put("model_id", config.model().id());
    m.put("tokenizer", tokenizerName);
    m.put("max_sequence_length", config.model().maxSequenceLength());
    m.set("ingest", ConfigLoader.json().valueToTree(config.ingest()));
    m.set("provenance", Provenance.current());
    try {
      return ConfigLoader.json().writerWithDefaultPrettyPrinter().writeValueAsString(m);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
