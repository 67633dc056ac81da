package io.thetacal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.ChildJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a publishing process at random moments never leaves {@code current} unreadable: after
 * every kill the pointer resolves to a complete version whose files match its marker, whose manifest,
 * state and version record parse, and the store keeps working.
 */
@Tag("slow")
class PublishCrashTest {
  static final int KILLS = 25;

  @TempDir
  Path out;

  @Test
  void everyKillLeavesCurrentResolvingToACompleteVerifiedVersion() throws Exception {
    ThresholdStore store = ThresholdStore.under(out, Clock.systemUTC());
    try (StoreLock lock = store.lock("test")) {
      String v = store.nextVersionName();
      store.publish(lock, ThresholdStoreTest.candidate(v, 0), ThresholdStoreTest.record(v, null, true));
    }
    String java = ChildJvm.java();
    SplittableRandom rnd = new SplittableRandom(20261123);
    int survived = 0;
    int published = 0;
    int staleReported = 0;
    for (int kill = 0; kill < KILLS; kill++) {
      List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m"));
      cmd.addAll(ChildJvm.moduleFlags());
      cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
          RefreshUntilKilled.class.getName(), store.root().toString(), String.valueOf(1000L * kill)));
      Path log = out.resolve("child-" + kill + ".log");
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
          .start();
      try {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(log).contains("READY")) {
          assertTrue(p.isAlive(), () -> "the child died: " + read(log));
          assertTrue(System.nanoTime() < deadline, "the child did not start");
          Thread.sleep(10);
        }
        // Kill points spread over the publishing cycle: after 0, 1 or 2 completed publishes, then a
        // random delay into the next one, so the kills land amid writes whatever the machine's load.
        int publishesBeforeKill = kill % 3;
        while (read(log).lines().filter(l -> l.startsWith("PUBLISHED")).count() < publishesBeforeKill) {
          assertTrue(p.isAlive(), () -> "the child died: " + read(log));
          assertTrue(System.nanoTime() < deadline, "the child did not publish in time");
          Thread.sleep(5);
        }
        Thread.sleep(rnd.nextInt(0, 400));
      } finally {
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      }
      String childOut = read(log);
      published += (int) childOut.lines().filter(l -> l.startsWith("PUBLISHED")).count();
      assertTrue(!childOut.contains("Exception"), childOut);

      String current = store.current().orElseThrow();
      Path dir = store.openVerified(current);
      store.manifest(current).toTable();
      store.state(current);
      store.record(current).orElseThrow();
      assertEquals(dir, store.openCurrent());
      survived++;
      try (StoreLock lock = store.lock("check")) {
        staleReported += lock.staleHolder().isPresent() ? 1 : 0;
      }
    }
    try (StoreLock lock = store.lock("cleanup")) {
      store.cleanLeftovers(lock);
      store.prune(lock, 3);
    }
    System.out.printf("kills survived: %d/%d; versions published by killed processes: %d; "
        + "kills that left a stale lock (killed while holding it): %d%n", survived, KILLS, published,
        staleReported);
    assertEquals(KILLS, survived);
    assertTrue(published >= KILLS - 1, "the kills must land amid publishing, not only at start-up");
    assertTrue(staleReported >= KILLS / 2, "most kills must hit a process holding the lock");
    assertTrue(store.versions().size() <= 5, "retention keeps the store bounded: " + store.versions());
  }

  private static String read(Path log) {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(unreadable: " + e.getMessage() + ")";
    }
  }
}
