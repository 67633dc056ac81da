package io.thetacal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.model.Models;
import io.thetacal.report.Gates;
import io.thetacal.report.ReportGate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report gate on a real encoder decides what a refresh publishes. */
class RefreshGateTest {
  @TempDir
  Path tmp;

  @BeforeAll
  static void load() {
    RefreshTest.model = Models.load(Models.DEFAULT_ID);
  }

  @AfterAll
  static void close() {
    RefreshTest.model.close();
  }

  private static Map<String, List<int[]>> holdout() {
    return Map.of("news-holdout", RefreshTest.MORE.stream()
        .map(s -> RefreshTest.model.tokenizer().encode(s)).toList());
  }

  @Test
  void aPassingGatePublishesAndAFailingGateKeepsCurrentAndTheRejectedReport() throws IOException {
    Path wiki = tmp.resolve("corpus/wiki");
    Map<String, Path> roots = Map.of("wiki", wiki);
    RefreshTest.land(wiki, "part-00000.txt", 0, 12);
    ThresholdStore store = ThresholdStore.under(tmp.resolve("out"), Fixtures.CLOCK);
    RefreshTest.TextCalibrator calibrator = new RefreshTest.TextCalibrator(roots);

    ReportGate lenient = new ReportGate(RefreshTest.model, holdout(), 4, Placement.PRE_SOFTMAX,
        new Gates(10, 1));
    RefreshResult ok = RefreshTest.refresh(store, roots, calibrator).gate(lenient).execute();
    assertEquals(RefreshResult.Outcome.PUBLISHED, ok.outcome(), ok.message());
    assertTrue(ok.gate().pass());
    assertEquals("report", store.record(ok.version()).orElseThrow().gate().gate());
    String report = Files.readString(store.openCurrent().resolve(ThresholdStore.REPORT));
    assertTrue(report.contains("news-holdout"), report);

    RefreshTest.land(wiki, "part-00001.txt", 12, 24);
    ReportGate strict = new ReportGate(RefreshTest.model, holdout(), 4, Placement.PRE_SOFTMAX,
        new Gates(1e-9, 0));
    RefreshResult no = RefreshTest.refresh(store, roots, calibrator).gate(strict).execute();
    assertEquals(RefreshResult.Outcome.REJECTED, no.outcome(), no.message());
    assertFalse(no.gate().pass());
    assertEquals(Optional.of(ok.version()), store.current(), "a failed gate leaves current alone");
    assertEquals(List.of(ok.version()), store.versions());
    assertEquals(List.of(no.version()), store.rejectedVersions());
    Path rejected = store.openRejected(no.version());
    String reason = Files.readString(rejected.resolve(ThresholdStore.REASON));
    assertTrue(reason.startsWith("rejected by gate 'report':"), reason);
    assertTrue(reason.contains("news-holdout") && reason.contains("outside ±0.00"), reason);
    assertTrue(Files.isRegularFile(rejected.resolve(ThresholdStore.REPORT)));
    assertTrue(no.message().contains("current stays " + ok.version()), no.message());

    RefreshResult retried = RefreshTest.refresh(store, roots, calibrator).gate(lenient).execute();
    assertEquals(RefreshResult.Outcome.PUBLISHED, retried.outcome(),
        "a rejected candidate does not advance the watermark: the next run retries its data");
    assertEquals(2, retried.watermark().partitionCount());
  }
}
