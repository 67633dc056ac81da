package io.thetacal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.CorpusPartition;
import io.thetacal.calibration.ThresholdTable;
import io.thetacal.calibration.Watermark;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ThresholdStoreTest {
  @TempDir
  Path out;

  private static Clock at(int second) {
    return Clock.fixed(Instant.parse("2026-11-23T10:00:00Z").plusSeconds(second), ZoneOffset.UTC);
  }

  static CandidateGate.Candidate candidate(String version, long seed) {
    CalibrationState state = Fixtures.state(seed);
    ThresholdTable table = Fixtures.table(state, Placement.PRE_SOFTMAX);
    return new CandidateGate.Candidate(version, table, state,
        ThresholdManifest.of(table, state, Fixtures.provenance(), Map.of(), null));
  }

  static VersionRecord record(String version, String parent, boolean pass) {
    Watermark w = Watermark.empty().plus(List.of(new CorpusPartition("wiki", "part-" + version,
        Sha256.of(version.getBytes(StandardCharsets.UTF_8)))));
    return new VersionRecord(VersionRecord.FORMAT_VERSION, version, parent, "2026-11-23T10:00:00Z", w,
        1, new CandidateGate.Verdict("test", pass, List.of(pass ? "fine" : "kept/k 1.9 > 1.2"),
            "{\"pass\":" + pass + "}"));
  }

  private static String publish(ThresholdStore store, StoreLock lock, long seed) throws IOException {
    String v = store.nextVersionName();
    String parent = store.current().orElse(null);
    store.publish(lock, candidate(v, seed), record(v, parent, true));
    return v;
  }

  @Test
  void publishSwitchesCurrentAndRollbackAndPromoteMoveThePointer() throws IOException {
    ThresholdStore store = ThresholdStore.under(out, at(0));
    assertEquals(Optional.empty(), store.current());
    IOException none = assertThrows(IOException.class, store::openCurrent);
    assertTrue(none.getMessage().contains("no threshold version has been published"), none.getMessage());
    String v1;
    String v2;
    String v3;
    try (StoreLock lock = store.lock("test")) {
      v1 = publish(store, lock, 1);
      v2 = publish(store, lock, 2);
      v3 = publish(store, lock, 3);
    }
    assertEquals(List.of("v20261123T100000Z", "v20261123T100000Z.001", "v20261123T100000Z.002"),
        List.of(v1, v2, v3));
    assertEquals(Optional.of(v3), store.current());
    assertEquals(out.resolve("thresholds").resolve(v3), store.openCurrent());
    assertEquals(Fixtures.state(3), store.state(v3));
    assertEquals(v2, store.record(v3).orElseThrow().parent());
    assertTrue(Files.isRegularFile(store.openCurrent().resolve(ThresholdStore.REPORT)));

    assertEquals(v2, store.rollback());
    assertEquals(Optional.of(v2), store.current());
    assertEquals(v1, store.rollback());
    IOException oldest = assertThrows(IOException.class, store::rollback);
    assertTrue(oldest.getMessage().contains(v1 + " is the oldest version"), oldest.getMessage());
    store.promote(v3);
    assertEquals(Optional.of(v3), store.current());
    assertThrows(IOException.class, () -> store.promote("v20990101T000000Z"));

    List<ThresholdStore.HistoryEntry> h = store.history();
    assertEquals(List.of("publish", "publish", "publish", "rollback", "rollback", "promote"),
        h.stream().map(ThresholdStore.HistoryEntry::action).toList());
    assertEquals(v3, h.get(3).previous());
    assertEquals(v2, h.get(3).version());
    List<ThresholdStore.Listing> listed = store.list();
    assertEquals(3, listed.size());
    assertEquals(List.of(false, false, true), listed.stream().map(ThresholdStore.Listing::current).toList());
    assertEquals(1, listed.get(0).record().watermark().partitionCount());
  }

  @Test
  void aMissingOrDanglingPointerIsAClearErrorNeverAnotherVersion() throws IOException {
    ThresholdStore store = ThresholdStore.under(out, at(0));
    String v1;
    try (StoreLock lock = store.lock("test")) {
      v1 = publish(store, lock, 1);
    }
    Path pointer = store.root().resolve(ThresholdStore.POINTER);
    Files.delete(pointer);
    IOException missing = assertThrows(IOException.class, store::current);
    assertTrue(missing.getMessage().contains("is missing but") && missing.getMessage().contains(v1),
        missing.getMessage());

    Files.createDirectories(store.root().resolve("v20991231T000000Z"));
    Files.writeString(store.root().resolve("v20991231T000000Z").resolve("thresholds.json"), "{}");
    Files.writeString(pointer, "v20991231T000000Z\n");
    IOException dangling = assertThrows(IOException.class, store::openCurrent);
    assertTrue(dangling.getMessage().contains("not a complete version"), dangling.getMessage());
    assertEquals(List.of(v1), store.versions());
  }

  @Test
  void retentionKeepsTheNewestVersionsAndAlwaysCurrentAndItsPredecessor() throws IOException {
    ThresholdStore store = ThresholdStore.under(out, at(0));
    try (StoreLock lock = store.lock("test")) {
      for (int i = 0; i < 6; i++) {
        publish(store, lock, i);
      }
      List<String> all = store.versions();
      store.promote(lock, all.get(1));
      List<String> pruned = store.prune(lock, 2);
      assertEquals(List.of(all.get(2), all.get(3)), pruned);
      assertEquals(List.of(all.get(0), all.get(1), all.get(4), all.get(5)), store.versions());
      assertEquals(Optional.of(all.get(1)), store.current());
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> store.prune(lock, 1));
      assertTrue(e.getMessage().contains("'retention' is set to 1"), e.getMessage());
    }
  }

  @Test
  void aRejectedCandidateIsKeptWithItsReasonAndLeavesCurrentAlone() throws IOException {
    ThresholdStore store = ThresholdStore.under(out, at(0));
    try (StoreLock lock = store.lock("test")) {
      String v1 = publish(store, lock, 1);
      String v2 = store.nextVersionName();
      assertThrows(IllegalArgumentException.class,
          () -> store.publish(lock, candidate(v2, 2), record(v2, v1, false)));
      store.reject(lock, candidate(v2, 2), record(v2, v1, false));
      assertEquals(Optional.of(v1), store.current());
      assertEquals(List.of(v2), store.rejectedVersions());
      Path dir = store.openRejected(v2);
      assertTrue(Files.readString(dir.resolve(ThresholdStore.REASON)).contains("kept/k 1.9 > 1.2"));
      assertEquals("{\"pass\":false}", Files.readString(dir.resolve(ThresholdStore.REPORT)));
      assertTrue(Files.isRegularFile(dir.resolve(StateFiles.FILE_NAME)));
      assertTrue(store.nextVersionName().compareTo(v2) > 0, "names stay ordered after a rejection");
    }
  }

  @Test
  void aSecondLockInTheSameProcessNamesTheHolder() throws IOException {
    ThresholdStore store = ThresholdStore.under(out, at(0));
    try (StoreLock first = store.lock("refresh")) {
      StoreLock.LockedException e = assertThrows(StoreLock.LockedException.class,
          () -> store.lock("refresh"));
      assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid()), e.getMessage());
      assertTrue(e.getMessage().contains(first.holder().host()), e.getMessage());
      assertTrue(e.getMessage().contains("since 2026-11-23T10:00:00Z"), e.getMessage());
      assertThrows(StoreLock.LockedException.class, () -> store.promote("x"));
    }
    StoreLock again = store.lock("refresh");
    assertFalse(again.staleHolder().isPresent(), "a clean release leaves no stale entry");
    again.close();
    assertThrows(IllegalStateException.class, () -> store.prune(again, 3),
        "a released lock does not authorise changes");
  }

  @Test
  void aLockHeldByAnotherProcessIsRefusedAndReportedStaleAfterItIsKilled() throws Exception {
    ThresholdStore store = ThresholdStore.under(out, Clock.systemUTC());
    Files.createDirectories(store.root());
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        HoldStoreLock.class.getName(), store.root().toString()).redirectErrorStream(true).start();
    try {
      BufferedReader r = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = r.readLine()) != null && !line.startsWith("LOCKED")) {
        // JVM warnings before the child reports
      }
      assertEquals("LOCKED " + p.pid(), line);
      StoreLock.LockedException e = assertThrows(StoreLock.LockedException.class,
          () -> store.lock("refresh"));
      assertTrue(e.getMessage().contains("pid " + p.pid() + " on host"), e.getMessage());
      assertEquals(p.pid(), e.holder().orElseThrow().pid());
    } finally {
      p.destroyForcibly();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    }
    try (StoreLock after = store.lock("refresh")) {
      assertEquals(p.pid(), after.staleHolder().orElseThrow().pid(),
          "the killed holder is reported, not silently replaced");
    }
  }

  @Test
  void versionNamesStayOrderedWhenTheClockIsBehindTheNewestVersion() throws IOException {
    ThresholdStore ahead = ThresholdStore.under(out, at(3600));
    try (StoreLock lock = ahead.lock("test")) {
      publish(ahead, lock, 1);
    }
    ThresholdStore behind = ThresholdStore.under(out, at(0));
    assertEquals("v20261123T110000Z.001", behind.nextVersionName());
  }

  @Test
  void aStaleEntryOfAProcessStillRunningHereIsRefusedAsAnUnenforcedLock() throws Exception {
    ThresholdStore store = ThresholdStore.under(out, at(0));
    String host;
    try (StoreLock lock = store.lock("test")) {
      host = lock.holder().host();
    }
    Process alive = new ProcessBuilder("sleep", "60").start();
    try {
      Files.writeString(store.root().resolve(StoreLock.FILE_NAME), "{\"pid\":" + alive.pid()
          + ",\"host\":\"" + host + "\",\"startedAt\":\"2026-11-23T09:00:00Z\",\"command\":\"refresh\"}");
      StoreLock.LockedException e = assertThrows(StoreLock.LockedException.class,
          () -> store.lock("refresh"));
      assertTrue(e.getMessage().contains("does not enforce file locks"), e.getMessage());
      assertTrue(e.getMessage().contains("pid " + alive.pid()), e.getMessage());
    } finally {
      alive.destroyForcibly();
      alive.waitFor();
    }
    try (StoreLock lock = store.lock("refresh")) {
      assertEquals(alive.pid(), lock.staleHolder().orElseThrow().pid(),
          "once that process is gone the entry is reported as stale");
    }
  }
}
