package io.thetacal.jobs.ingest;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** Spark schemas of the ingest stages and of the datasets it writes. */
public final class RawSchema {
  /** Raw documents as read from a source, before tokenization. */
  public static final StructType RAW = new StructType()
      .add("dataset", DataTypes.StringType, false)
      .add("doc_id", DataTypes.StringType, false)
      .add("text", DataTypes.StringType, true)
      .add("tokens", DataTypes.createArrayType(DataTypes.LongType, true), true)
      .add("reject_reason", DataTypes.StringType, true)
      .add("detail", DataTypes.StringType, true);

  /** Tokenized output: good sequences and rejected documents, told apart by reject_reason. */
  public static final StructType TOKENIZED = new StructType()
      .add("dataset", DataTypes.StringType, false)
      .add("doc_id", DataTypes.StringType, false)
      .add("seq_id", DataTypes.IntegerType, false)
      .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
      .add("n_tokens", DataTypes.IntegerType, false)
      .add("source_fingerprint", DataTypes.StringType, false)
      .add("split", DataTypes.StringType, true)
      .add("reject_reason", DataTypes.StringType, true)
      .add("detail", DataTypes.StringType, true);

  /** Columns of a calibration dataset (one row per sequence). */
  public static final String[] SEQUENCE_COLUMNS = {
      "dataset", "doc_id", "seq_id", "input_ids", "n_tokens", "source_fingerprint", "split"};

  /** Columns of a rejected-row record. */
  public static final String[] REJECTED_COLUMNS = {
      "dataset", "doc_id", "reject_reason", "detail", "source_fingerprint"};

  private RawSchema() {
  }
}
