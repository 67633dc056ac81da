package io.thetacal.jobs.refresh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.thetacal.attention.Placement;
import io.thetacal.report.Compensation;
import io.thetacal.jobs.config.ConfigException;
import io.thetacal.jobs.config.ConfigLoader;
import io.thetacal.jobs.config.RefreshSettings;
import io.thetacal.jobs.config.ThetacalConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * conf/refresh.yaml is a valid config that refreshes the default run, and the schedule examples in
 * conf/schedules parse and start the same job with it.
 */
class ScheduleExamplesTest {
  static final String MAIN_CLASS = "io.thetacal.jobs.cli.Thetacal";
  static final String JAR = "thetacal-jobs-0.1.0-SNAPSHOT.jar";
  static final String OUT = "/data/thetacal/out";
  static final Path CONF = Path.of("").toAbsolutePath().getParent().resolve("conf");

  @TempDir
  Path tmp;

  @Test
  void theExampleRefreshConfigRefreshesTheDefaultRun() {
    ThetacalConfig c = ConfigLoader.load(CONF.resolve("refresh.yaml"), List.of());
    ThetacalConfig d = ConfigLoader.load(CONF.resolve("default.yaml"), List.of());
    assertEquals(d.model(), c.model());
    assertEquals(d.calibration(), c.calibration(), "the calibration settings are the default run's");
    assertEquals(d.output(), c.output());
    RefreshSettings r = c.refresh();
    assertEquals(List.of("europarl-en"), r.datasetsOr(c.calibration().datasets()));
    assertEquals(c.calibration().datasets(), r.datasetsOr(c.calibration().datasets()));
    assertEquals(List.of("europarl-en"), r.holdoutOr(r.datasets()));
    assertEquals(List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX),
        r.placementsOr(c.calibration().placements()));
    assertTrue(c.calibration().kGrid().contains(r.gateK()));
    assertEquals(10, r.retention());
    assertEquals(Compensation.SDC_EXACT_VMC, r.gateCompensation().of(Placement.PRE_SOFTMAX));
    assertEquals(Compensation.VMC, r.gateCompensation().of(Placement.POST_SOFTMAX));
    assertEquals("out/corpora/dataset=europarl-en", r.root("europarl-en", c.output().root()));
  }

  @Test
  void aBadRefreshSectionIsRefusedNamingTheKey() throws IOException {
    String good = Files.readString(CONF.resolve("refresh.yaml"));
    assertRefused(good.replace("retention: 10", "retention: ten"), "'refresh.retention' is set to 'ten'");
    assertRefused(good.replace("retention: 10", "retension: 10"),
        "'refresh.retension' is not a known key; known keys under 'refresh': datasets, gate_compensation, gate_k");
    assertRefused(good.replace("retention: 10", "retention: 1"), "'refresh.retention' is set to 1 but must be >= 2");
    assertRefused(good.replace("gate_k: 32", "gateK: 32"), "'refresh.gateK' is not a known key");
    assertRefused(good.replace("post_softmax: vmc}", "post_softmax: sdc_exact_vmc}"),
        "'refresh.gate_compensation.post_softmax' is set to 'sdc_exact_vmc' but must be none or vmc");
    assertRefused(good.replace("holdout: [europarl-en]", "holdout: [wiki]"),
        "'refresh.holdout[0]' is set to 'wiki' but must be a dataset of 'corpora' or of 'refresh.roots'");
    assertRefused(good.replace("datasets: [europarl-en]", "datasets: [europarl-en, europarl-en]"),
        "'refresh.datasets[1]' is set to 'europarl-en' but must be unique");
    assertRefused(good.replace("placements: [pre_softmax, post_softmax]", "placements: [pre_softmax, sideways]"),
        "'refresh.placements[1]' is set to 'sideways' but must be one of [pre_softmax, post_softmax]");
    assertRefused(good + "calibration: {placements: [post_softmax]}\n",
        "'refresh.placements[0]' is set to 'pre_softmax' but must be one of 'calibration.placements' [post_softmax]");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(CONF.resolve("refresh.yaml"),
        List.of("refresh.gate_k=zero")));
    assertTrue(e.getMessage().contains("'refresh.gate_k' is set to 'zero' but must be an integer"), e.getMessage());
  }

  private void assertRefused(String yaml, String fragment) throws IOException {
    Path f = tmp.resolve("bad.yaml");
    Files.writeString(f, yaml);
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, List.of()));
    assertTrue(e.getMessage().contains(fragment), e.getMessage());
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
    assertEquals(List.of("refresh", "--conf", "/opt/thetacal/conf/refresh.yaml", "--out", OUT),
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
    assertTrue(fields[5].contains("bin/thetacal refresh --conf conf/refresh.yaml --out " + OUT), fields[5]);
  }

  @Test
  void theAirflowDagIsValidPythonAndSubmitsTheSameJob() throws Exception {
    Path dag = CONF.resolve("schedules/airflow/thetacal_refresh.py");
    String text = Files.readString(dag);
    assertTrue(text.contains("java_class=\"" + MAIN_CLASS + "\""));
    assertTrue(text.contains("/lib/" + JAR));
    assertTrue(text.contains("application_args=[\"refresh\", \"--conf\", CONF, \"--out\", OUT]"));
    assertTrue(text.contains("OUT = \"" + OUT + "\""));
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
