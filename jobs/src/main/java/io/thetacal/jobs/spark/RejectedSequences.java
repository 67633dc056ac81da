package io.thetacal.jobs.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.exists;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.when;

import io.thetacal.jobs.calibrate.CalibrateException;
import io.thetacal.jobs.ingest.Splits;
import io.thetacal.model.ModelInfo;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one quarantine of token sequences the model cannot take, shared by {@code calibrate} and
 * {@code refresh}: a {@value #COLUMN} expression over {@code input_ids}, the writer of the rejected rows
 * under {@code <out>/rejected/<job>/run=<name>/}, the count by reason, and the check against
 * {@value #LIMIT_KEY}. Rows are never dropped silently: each has a reason, is written and is counted.
 */
public final class RejectedSequences {
  private static final Logger LOG = LoggerFactory.getLogger(RejectedSequences.class);
  /** The column holding why a row is rejected (null: the model can take it). */
  public static final String COLUMN = "reject_reason";
  /** {@code input_ids} is null or holds a null id. */
  public static final String NULL_INPUT_IDS = "null_input_ids";
  /** {@code input_ids} is empty. */
  public static final String EMPTY_SEQUENCE = "empty_sequence";
  /** More ids than the model has positions. */
  public static final String TOO_LONG_FOR_MODEL = "too_long_for_model";
  /** An id below 0 or at least the vocabulary size. */
  public static final String TOKEN_OUT_OF_VOCABULARY = "token_out_of_vocabulary";
  /** A {@code split} column is present but the row's value is null or neither split of ingest. */
  public static final String UNKNOWN_SPLIT = "unknown_split";
  /** The manifest count of the rows a version's job set aside. */
  public static final String COUNT = "rejected_sequences";
  /** The config key of the largest rejected share a job accepts. */
  public static final String LIMIT_KEY = "calibration.max_rejected_fraction";

  /** The columns of a rejected-row record, in order. */
  public static final List<String> COLUMNS = List.of("dataset", "file", "doc_id", "seq_id", "split", "n_tokens",
      COLUMN, "input_ids");

  private RejectedSequences() {
  }

  /** Why the model cannot take a row's {@code input_ids}, or null when it can. */
  public static Column reason(ModelInfo info) {
    Column ids = col("input_ids");
    return when(ids.isNull().or(exists(ids, x -> x.isNull())), lit(NULL_INPUT_IDS))
        .when(size(ids).equalTo(0), lit(EMPTY_SEQUENCE))
        .when(size(ids).gt(info.maxPositions()), lit(TOO_LONG_FOR_MODEL))
        .when(exists(ids, x -> x.lt(0).or(x.geq(info.vocabSize()))), lit(TOKEN_OUT_OF_VOCABULARY));
  }

  /**
   * Rows read from Parquet files with their {@value #COLUMN}, and the columns a rejected-row record needs:
   * {@code dataset} (the given name when the rows have no such column), {@code file} (the file read),
   * {@code doc_id}, {@code seq_id} and {@code split} (null when absent). Where the rows have a
   * {@code split} column, a row whose split is null or neither calibration nor holdout is rejected as
   * {@value #UNKNOWN_SPLIT}: it would otherwise be in no split, or in both.
   */
  public static Dataset<Row> check(Dataset<Row> rows, Column dataset, ModelInfo info) {
    List<String> columns = List.of(rows.columns());
    Dataset<Row> out = rows;
    if (!columns.contains("dataset")) {
      out = out.withColumn("dataset", dataset);
    }
    if (!columns.contains("doc_id")) {
      out = out.withColumn("doc_id", lit(null).cast("string"));
    }
    if (!columns.contains("seq_id")) {
      out = out.withColumn("seq_id", lit(null).cast("int"));
    }
    Column reason = reason(info);
    if (columns.contains("split")) {
      reason = when(col("split").isNull().or(not(col("split").isin(Splits.CALIBRATION, Splits.HOLDOUT))),
          lit(UNKNOWN_SPLIT)).otherwise(reason);
    } else {
      out = out.withColumn("split", lit(null).cast("string"));
    }
    return out.withColumn("file", col("_metadata.file_path")).withColumn(COLUMN, reason);
  }

  /** What a job set aside: rows checked, rows rejected by reason, and where they were written. */
  public record Tally(long checked, Map<String, Long> rejectedByReason, String directory) {
    public Tally {
      rejectedByReason = Collections.unmodifiableMap(new TreeMap<>(rejectedByReason));
    }

    /** Rows rejected, all reasons. */
    public long rejected() {
      return rejectedByReason.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Rejected share of the rows checked (0 when none were). */
    public double fraction() {
      return checked == 0 ? 0 : (double) rejected() / checked;
    }
  }

  /**
   * Quarantines the rejected rows of {@code checked} (the output of {@link #check}): counts them by reason
   * (one Spark job over all rows), writes them when there are any under a new directory
   * {@code <root>/rejected/<job>/run=<run>/} (suffixed .001, .002, ... when taken, so nothing an earlier
   * job wrote is replaced), and stops the job when their share exceeds {@code maxFraction}; the rows are
   * written before it stops.
   *
   * @throws CalibrateException naming the share, {@value #LIMIT_KEY}, the reasons and the directory when
   *     more than {@code maxFraction} of the rows are rejected
   */
  public static Tally quarantine(SparkSession spark, Dataset<Row> checked, String root, String job, String run,
      double maxFraction, String what) {
    long total = 0;
    Map<String, Long> byReason = new TreeMap<>();
    for (Row r : JobSupport.withJobGroup(spark, "thetacal-" + job + "-reject",
        job + ": check " + what, () -> checked.groupBy(col(COLUMN)).count().collectAsList())) {
      total += r.getLong(1);
      if (!r.isNullAt(0)) {
        byReason.put(r.getString(0), r.getLong(1));
      }
    }
    String dir = null;
    if (!byReason.isEmpty()) {
      dir = freeDirectory(JobSupport.fs(spark, root), JobSupport.path(root, "rejected", job), run);
      String target = dir;
      JobSupport.withJobGroup(spark, "thetacal-" + job + "-reject-write", job + ": write rejected rows to "
          + target, () -> {
            checked.filter(col(COLUMN).isNotNull()).select(COLUMNS.stream().map(c -> col(c)).toArray(Column[]::new))
                .write().mode("errorifexists").parquet(target);
            return null;
          });
      LOG.info("{}: {} of {} sequences of {} rejected, by reason {}, written to {}", job,
          byReason.values().stream().mapToLong(Long::longValue).sum(), total, what, byReason, target);
    }
    Tally tally = new Tally(total, byReason, dir);
    if (tally.fraction() > maxFraction) {
      throw new CalibrateException(String.format(Locale.ROOT, "%d of %d sequences of %s (%.1f %%) cannot be"
          + " taken by the model, more than '%s' = %s; reasons: %s; the rejected rows are in %s",
          tally.rejected(), total, what, 100 * tally.fraction(), LIMIT_KEY, maxFraction, byReason, dir));
    }
    return tally;
  }

  /** {@code <parent>/run=<run>}, or the first of run.001, run.002, ... that does not exist yet. */
  static String freeDirectory(FileSystem fs, String parent, String run) {
    String dir = JobSupport.path(parent, "run=" + run);
    for (int i = 1; JobSupport.exists(fs, dir); i++) {
      dir = JobSupport.path(parent, String.format(Locale.ROOT, "run=%s.%03d", run, i));
    }
    return dir;
  }
}
