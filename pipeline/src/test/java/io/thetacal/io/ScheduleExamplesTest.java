package io.thetacal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.thetacal.attention.Placement;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** conf/refresh.yaml and the schedule examples in conf/schedules parse and start the same job. */
class ScheduleExamplesTest {
  static final String MAIN_CLASS = "io.thetacal.jobs.cli.Thetacal";
  static final String JAR = "thetacal-jobs-0.1.0-SNAPSHOT.jar";
  static final Path CONF = Path.of("").toAbsolutePath().getParent().resolve("conf");

  @TempDir
  Path tmp;

  @Test
  void theExampleRefreshConfigIsValid() throws IOException {
    RefreshSettings s = RefreshSettings.read(CONF.resolve("refresh.yaml"));
    assertEquals(List.of("code", "wiki"), List.copyOf(s.datasets().keySet()));
    assertEquals(List.of("code-holdout", "wiki-holdout"), List.copyOf(s.holdout().keySet()));
    assertEquals(Placement.PRE_SOFTMAX, s.placement());
    assertEquals(10, (int) s.retention());
    assertTrue(s.calibrationConfig().kGrid().contains(s.gate().k()));
    assertEquals(Path.of("/data/thetacal/out/thresholds"), s.thresholdsRoot());
  }

  @Test
  void aBadRefreshConfigIsRefusedNamingTheKey() throws IOException {
    String good = Files.readString(CONF.resolve("refresh.yaml"));
    assertRefused(good.replace("retention: 10", "retention: ten"), "'retention'");
    assertRefused(good.replace("retention: 10", "retension: 10"), "'retension' is not a refresh setting");
    assertRefused(good.replace("  k: 64", "  k: 48"), "'gate.k' is set to 48");
    assertRefused(good.replace("sigmaAdd: 0.1", "sigmaAd: 0.1"), "sigmaAd");
    assertRefused(good.replace("retention: 10", "retention: 1"), "'retention' is set to 1");
    assertRefused(good.replace("  code-holdout: /data/holdout/code", "  code: /data/corpus/code"),
        "'holdout.code' is also a calibration dataset");
  }

  private void assertRefused(String yaml, String fragment) throws IOException {
    Path f = tmp.resolve("bad.yaml");
    Files.writeString(f, yaml);
    IOException e = assertThrows(IOException.class, () -> RefreshSettings.read(f));
    assertTrue(e.getMessage().contains(fragment), e.getMessage());
    assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
  }

  @Test
  void theKubernetesScheduleRunsTheRefreshOfTheThinJar() throws IOException {
    JsonNode k = new ObjectMapper(new YAMLFactory())
        .readTree(CONF.resolve("schedules/kubernetes/thetacal-refresh.yaml").toFile());
    assertEquals("ScheduledSparkApplication", k.get("kind").asText());
    assertEquals("Forbid", k.at("/spec/concurrencyPolicy").asText());
    JsonNode t = k.at("/spec/template");
    assertEquals(MAIN_CLASS, t.get("mainClass").asText());
    assertTrue(t.get("mainApplicationFile").asText().endsWith("/" + JAR));
    assertEquals(List.of("refresh", "--conf", "/opt/thetacal/conf/refresh.yaml"),
        new ObjectMapper().convertValue(t.get("arguments"), List.class));
  }

  @Test
  void theCrontabLineCallsTheRefreshWithTheExampleConfig() throws IOException {
    List<String> jobs = Files.readAllLines(CONF.resolve("schedules/cron/thetacal-refresh.crontab"))
        .stream().filter(l -> !l.isBlank() && !l.startsWith("#") && !l.contains("=")).toList();
    assertEquals(1, jobs.size(), jobs.toString());
    String[] fields = jobs.get(0).split("\\s+", 6);
    for (int i = 0; i < 5; i++) {
      assertTrue(fields[i].matches("[0-9*/,-]+"), "cron field " + i + ": " + fields[i]);
    }
    assertTrue(fields[5].contains("bin/thetacal refresh --conf conf/refresh.yaml"), fields[5]);
  }

  @Test
  void theAirflowDagIsValidPythonAndSubmitsTheSameJob() throws Exception {
    Path dag = CONF.resolve("schedules/airflow/thetacal_refresh.py");
    String text = Files.readString(dag);
    assertTrue(text.contains("java_class=\"" + MAIN_CLASS + "\""));
    assertTrue(text.contains("/lib/" + JAR));
    assertTrue(text.contains("application_args=[\"refresh\", \"--conf\", CONF]"));
    assertTrue(text.contains("conf/refresh.yaml"));
    Process p;
    try {
      p = new ProcessBuilder("python3", "-c",
          "import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])", dag.toString())
          .redirectErrorStream(true).start();
    } catch (IOException e) {
      Assumptions.abort("python3 is not installed: " + e.getMessage());
      return;
    }
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), out);
  }
}
