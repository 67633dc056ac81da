package io.thetacal.jobs.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.jobs.SharedSpark;
import io.thetacal.jobs.calibrate.CalibrateResult;
import io.thetacal.jobs.ThetacalJobs;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.ingest.IngestResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs thetacal on a real standalone cluster (a master and two workers on 127.0.0.1, started from the
 * Maven-resolved Spark jars) and checks the output equals local mode's bit for bit: local[2] in this JVM with
 * 1 partition, and local[1] submitted like the cluster's application (4 partitions, as on the cluster).
 */
@Tag("slow")
class StandaloneClusterTest {
  @TempDir
  static Path tmp;

  private static StandaloneCluster cluster;

  private static final String CONF = """
      model: {max_sequence_length: 64}
      corpora:
        - {name: ep-en, source: {type: europarl, language: en, max_docs: 60}}
        - {name: code, source: {type: java_sources, artifact: "org.apache.commons:commons-lang3:3.20.0", max_docs: 4}}
      calibration: {datasets: [ep-en], k_grid: [4, 8, 16, 32], holdout_sequences: 0}
      ingest: {max_rejected_fraction: 1.0}
      spark: {partitions: 4}
      """;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = new StandaloneCluster(tmp.resolve("cluster"), 2, 1);
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void ingestAndCalibrateOnTheClusterEqualLocalModeBitForBit() throws Exception {
    Path conf = tmp.resolve("ingest.yaml");
    Files.writeString(conf, CONF);
    Path clusterOut = tmp.resolve("out-cluster");
    Path log = tmp.resolve("submit-ingest.log");
    int code = cluster.submit("io.thetacal.jobs.cli.Thetacal", List.of(),
        List.of("ingest", "--conf", conf.toString(), "--out", clusterOut.toString()), log, Duration.ofMinutes(6));
    assertEquals(0, code, () -> "spark-submit failed:\n" + tail(log));
    assertTrue(cluster.shipJars().stream().anyMatch(p -> p.getFileName().toString().startsWith("thetacal-pipeline")
        || p.getFileName().toString().equals("pipeline.jar")), cluster.shipJars().toString());

    SparkSession spark = SharedSpark.get();
    IngestResult local = ThetacalJobs.get(spark).ingest()
        .config(ConfigLoader.fromYaml(CONF, conf.toString(), List.of()))
        .outputRoot(tmp.resolve("out-local").toString()).execute();

    List<String> fromCluster = rows(spark, clusterOut.resolve("corpora").toString());
    List<String> fromLocal = rows(spark, local.corporaPath());
    assertEquals(local.sequences(), fromLocal.size());
    assertTrue(fromLocal.size() > 60, "sequences: " + fromLocal.size());
    assertEquals(fromLocal, fromCluster);
    assertEquals(rows(spark, local.rejectedPath()), rows(spark, clusterOut.resolve("rejected/ingest").toString()));

    // calibrate on the cluster's ingest output, and locally on local mode's: bitwise equal thresholds.
    Path calLog = tmp.resolve("submit-calibrate.log");
    code = cluster.submit("io.thetacal.jobs.cli.Thetacal", List.of(),
        List.of("calibrate", "--conf", conf.toString(), "--out", clusterOut.toString(), "--version", "c1"),
        calLog, Duration.ofMinutes(8));
    assertEquals(0, code, () -> "spark-submit calibrate failed:\n" + tail(calLog));
    // and in local[1] (one task at a time), submitted like the cluster's run, on the same ingest output
    Path oneLog = tmp.resolve("submit-calibrate-local1.log");
    code = cluster.submit("local[1]", "io.thetacal.jobs.cli.Thetacal", List.of(),
        List.of("calibrate", "--conf", conf.toString(), "--out", clusterOut.toString(), "--version", "one"),
        oneLog, Duration.ofMinutes(8));
    assertEquals(0, code, () -> "spark-submit calibrate in local[1] failed:\n" + tail(oneLog));
    CalibrateResult localCal = ThetacalJobs.get(spark).calibrate()
        .config(ConfigLoader.fromYaml(CONF, conf.toString(), List.of("spark.partitions=1")))
        .outputRoot(tmp.resolve("out-local").toString()).version("l1").execute();
    for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
      Path l = Path.of(localCal.directories().get(p));
      Path c = clusterOut.resolve("thresholds").resolve(p.name().toLowerCase(java.util.Locale.ROOT)).resolve("c1");
      assertTrue(Files.exists(c.resolve("_SUCCESS")), c.toString());
      assertArrayEquals(Files.readAllBytes(l.resolve("state.bin")), Files.readAllBytes(c.resolve("state.bin")),
          p + " state differs between the cluster and local mode");
      assertEquals(rows(spark, l.resolve("thresholds.parquet").toString()),
          rows(spark, c.resolve("thresholds.parquet").toString()));
      Path one = clusterOut.resolve("thresholds").resolve(p.name().toLowerCase(java.util.Locale.ROOT)).resolve("one");
      assertArrayEquals(Files.readAllBytes(l.resolve("state.bin")), Files.readAllBytes(one.resolve("state.bin")),
          p + " state differs between local[1] and local[2]");
      assertEquals(rows(spark, l.resolve("thresholds.parquet").toString()),
          rows(spark, one.resolve("thresholds.parquet").toString()), p + " thresholds, local[1]");
    }
  }

  private static List<String> rows(SparkSession spark, String path) {
    if (!Files.exists(Path.of(path))) {
      return List.of();
    }
    return spark.read().parquet(path).collectAsList().stream().map(Row::toString).sorted().toList();
  }

  private static String tail(Path log) {
    List<String> lines;
    try {
      lines = Files.readAllLines(log);
    } catch (java.io.IOException e) {
      return "(no log: " + e + ")";
    }
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }
}
