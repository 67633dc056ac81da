package io.thetacal.jobs.spark;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/** Small helpers shared by the jobs: named Spark job groups and output file-system operations. */
public final class JobSupport {
  private JobSupport() {
  }

  /**
   * The seeded order key of an ingested sequence (columns doc_id, seq_id) of {@code dataset}: calibrate,
   * refresh and report all sample and order sequences by it, so they agree on which sequence comes first.
   */
  public static org.apache.spark.sql.Column orderKey(long seed, org.apache.spark.sql.Column dataset) {
    return org.apache.spark.sql.functions.sha2(org.apache.spark.sql.functions.concat_ws("#",
        org.apache.spark.sql.functions.lit(seed), dataset, org.apache.spark.sql.functions.col("doc_id"),
        org.apache.spark.sql.functions.col("seq_id")), 256);
  }

  /** Runs {@code body} with a named Spark job group (shown in the UI and the event log). */
  public static <T> T withJobGroup(SparkSession spark, String groupId, String description,
      java.util.function.Supplier<T> body) {
    spark.sparkContext().setJobGroup(groupId, description, false);
    try {
      return body.get();
    } finally {
      spark.sparkContext().clearJobGroup();
    }
  }

  public static FileSystem fs(SparkSession spark, String path) {
    try {
      return new Path(path).getFileSystem(hadoopConf(spark));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open file system of " + path, e);
    }
  }

  public static Configuration hadoopConf(SparkSession spark) {
    return spark.sparkContext().hadoopConfiguration();
  }

  /** Joins path segments with '/'. */
  public static String path(String root, String... parts) {
    StringBuilder sb = new StringBuilder(root.endsWith("/") ? root.substring(0, root.length() - 1) : root);
    for (String p : parts) {
      sb.append('/').append(p);
    }
    return sb.toString();
  }

  public static void writeString(FileSystem fs, String path, String text) {
    try (OutputStream out = fs.create(new Path(path), true)) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + path, e);
    }
  }

  public static void delete(FileSystem fs, String path) {
    try {
      fs.delete(new Path(path), true);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot delete " + path, e);
    }
  }

  /** Replaces {@code target} by {@code source} (a directory), deleting what was there. */
  public static void replace(FileSystem fs, String source, String target) {
    try {
      Path t = new Path(target);
      fs.delete(t, true);
      fs.mkdirs(t.getParent());
      if (!fs.rename(new Path(source), t)) {
        throw new IOException("rename returned false");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot move " + source + " to " + target, e);
    }
  }

  /**
   * Writes rows as ONE local Parquet file {@code file} (replaced if present), through Spark: Spark
   * writes a directory of parts, whose single part file is moved into place.
   */
  public static void writeSingleParquet(SparkSession spark, java.util.List<org.apache.spark.sql.Row> rows,
      org.apache.spark.sql.types.StructType schema, java.nio.file.Path file) throws IOException {
    java.nio.file.Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    spark.createDataFrame(rows, schema).coalesce(1).write().mode("overwrite").parquet(tmp.toUri().toString());
    try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(tmp)) {
      java.nio.file.Path part = files.filter(f -> f.getFileName().toString().startsWith("part-")
              && f.getFileName().toString().endsWith(".parquet")).findFirst()
          .orElseThrow(() -> new IOException("Spark wrote no Parquet part file under " + tmp));
      java.nio.file.Files.move(part, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    try (java.util.stream.Stream<java.nio.file.Path> walk = java.nio.file.Files.walk(tmp)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  public static boolean exists(FileSystem fs, String path) {
    try {
      return fs.exists(new Path(path));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
