package io.thetacal.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ThetacalCliTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return Thetacal.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  void unknownCommandListsTheKnownOnes() {
    assertEquals(2, run("calibrat"));
    assertTrue(err.toString().contains("unknown command 'calibrat', known: ingest, calibrate, inspect, run"),
        err.toString());
  }

  @Test
  void badConfigIsReportedWithoutAStackTraceAndExitCode2() {
    assertEquals(2, run("ingest", "--set", "model.batch_size=0"));
    assertTrue(err.toString().contains("'model.batch_size' is set to 0 but must be > 0"), err.toString());
    assertTrue(!err.toString().contains("\tat "), err.toString());
  }

  @Test
  void printConfigShowsTheEffectiveConfiguration() {
    assertEquals(0, run("calibrate", "--out", "/tmp/x", "--set", "calibration.k_grid=8,16", "--print-config"));
    assertTrue(out.toString().contains("root: \"/tmp/x\"") || out.toString().contains("root: /tmp/x"), out.toString());
    assertTrue(out.toString().contains("- 8"), out.toString());
  }

  @Test
  void optionOfAnotherCommandIsRefused() {
    assertEquals(2, run("ingest", "--text", "hello"));
    assertTrue(err.toString().contains("option --text applies to 'inspect' only"), err.toString());
  }

  @Test
  void missingOptionValueIsNamed() {
    assertEquals(2, run("ingest", "--conf"));
    assertTrue(err.toString().contains("option --conf needs a value"), err.toString());
  }
}
