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

  public static boolean exists(FileSystem fs, String path) {
    try {
      return fs.exists(new Path(path));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
