package io.thetacal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.ThresholdTable;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VersionedDirectoryTest {
  @TempDir
  Path root;

  @Test
  void publishedVersionHasAllArtifactsAndAMarkerListingThem() throws IOException {
    VersionedDirectory out = new VersionedDirectory(root.resolve("thresholds"));
    CalibrationState state = Fixtures.state(5);
    ThresholdTable table = Fixtures.table(state, Placement.PRE_SOFTMAX);
    ThresholdManifest m = ThresholdManifest.of(table, state, Fixtures.provenance(), Map.of(), null);
    String version = VersionedDirectory.timestampVersion(Fixtures.CLOCK);
    assertEquals("v20261123T100000Z", version);
    Path dir = out.publish(version, d -> ThresholdArtifacts.write(d, table, state, m));
    assertEquals(root.resolve("thresholds").resolve(version), dir);
    for (String f : List.of("thresholds.json", "thresholds.arrow", "state.bin", "_SUCCESS")) {
      assertTrue(Files.isRegularFile(dir.resolve(f)), f);
    }
    assertEquals(List.of(version), out.versions());
    assertEquals(Optional.of(version), out.latest());
    assertEquals(dir, out.openVerified(version));
    assertEquals(state, ThresholdArtifacts.readState(out, version));
    assertEquals(m.toJson(), ThresholdArtifacts.readManifest(out, version).toJson());
    IOException dup = assertThrows(IOException.class, () -> out.publish(version, d -> { }));
    assertTrue(dup.getMessage().contains("already exists"), dup.getMessage());
  }

  @Test
  void aFailingWriterPublishesNothingAndLeavesNoStaging() throws IOException {
    VersionedDirectory out = new VersionedDirectory(root);
    IOException e = assertThrows(IOException.class, () -> out.publish("v1", d -> {
      Files.writeString(d.resolve("thresholds.json"), "{}");
      throw new IOException("disk full");
    }));
    assertEquals("disk full", e.getMessage());
    assertEquals(List.of(), out.versions());
    assertFalse(Files.exists(root.resolve("v1")));
    try (Stream<Path> staged = Files.list(root.resolve(VersionedDirectory.STAGING))) {
      assertEquals(0, staged.count());
    }
  }

  @Test
  void readersRefuseADirectoryWithoutMarkerAndDetectTampering() throws IOException {
    VersionedDirectory out = new VersionedDirectory(root);
    Files.createDirectories(root.resolve("v2"));
    Files.writeString(root.resolve("v2").resolve("thresholds.json"), "{}");
    IOException e = assertThrows(IOException.class, () -> out.open("v2"));
    assertTrue(e.getMessage().contains("no _SUCCESS marker"), e.getMessage());
    assertEquals(List.of(), out.versions());

    out.publish("v3", d -> Files.writeString(d.resolve("a.txt"), "hello"));
    Files.writeString(root.resolve("v3").resolve("a.txt"), "hellO");
    e = assertThrows(IOException.class, () -> out.openVerified("v3"));
    assertTrue(e.getMessage().contains("a.txt"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> out.publish("../x", d -> { }));
  }

  /** A publishing JVM killed mid-write leaves no version a reader would take for complete. */
  @Test
  void killingThePublisherMidWriteLeavesNoReadableVersion() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        PublishUntilKilled.class.getName(), root.toString(), "v9").redirectErrorStream(true).start();
    try (BufferedReader r = new BufferedReader(
        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null && !line.equals("WRITING")) {
        // wait for the child to be inside the writer
      }
      assertEquals("WRITING", line, "the child never started writing");
      p.destroyForcibly();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    } finally {
      p.destroyForcibly();
    }
    VersionedDirectory out = new VersionedDirectory(root);
    assertEquals(List.of(), out.versions());
    IOException e = assertThrows(IOException.class, () -> out.open("v9"));
    assertTrue(e.getMessage().contains("no version v9"), e.getMessage());
    try (Stream<Path> staged = Files.list(root.resolve(VersionedDirectory.STAGING))) {
      assertEquals(1, staged.count(), "the partial write stays in staging, invisible to readers");
    }
    // the same version can still be published afterwards
    out.publish("v9", d -> Files.writeString(d.resolve("thresholds.json"), "{}"));
    assertEquals(List.of("v9"), out.versions());
  }
}
