package io.thetacal.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.HoldoutCheck;
import io.thetacal.calibration.ThresholdTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ThresholdManifestTest {
  @TempDir
  Path dir;

  @Test
  void manifestRoundTripsAndItsTableLooksUpTheSameThresholds() throws IOException {
    CalibrationState state = Fixtures.state(1);
    for (Placement p : Placement.values()) {
      ThresholdTable table = Fixtures.table(state, p);
      HoldoutCheck.Result holdout = new HoldoutCheck.Result(0.1,
          List.of(new HoldoutCheck.Entry(0, 16, 10, 15.5, 15.5 / 16, true),
              new HoldoutCheck.Entry(1, 16, 0, Double.NaN, Double.NaN, false)));
      ThresholdManifest m = ThresholdManifest.of(table, state, Fixtures.provenance(),
          Map.of("sequences", 60L), holdout);
      Path file = dir.resolve(p + "-" + ThresholdManifest.FILE_NAME);
      m.write(file);
      ThresholdManifest back = ThresholdManifest.read(file);
      assertEquals(m.toJson(), back.toJson());
      assertEquals(m.provenance(), back.provenance());
      assertEquals(m.counts(), back.counts());
      assertEquals(holdout.entries().get(0), back.holdout().entries().get(0));
      assertTrue(Double.isNaN(back.holdout().entries().get(1).ratio()));
      assertArrayEquals(m.thresholds(), back.thresholds());
      assertEquals(state.sizeBytes(), back.stateSizeBytes());
      assertEquals(state.rowsObserved(), back.counts().rowsObserved());
      assertEquals(List.of(4, 16, 32, 64, 128, 256), back.kGrid());

      ThresholdTable fromFile = back.toTable();
      int[] ks = table.kGrid();
      int compared = 0;
      for (int l = 0; l < 2; l++) {
        for (int h = 0; h < 3; h++) {
          for (int n : Fixtures.lengths()) {
            for (int k : ks) {
              if (n <= k) {
                continue;
              }
              boolean calibrated = table.resolvedBucket(l, h, n, k) >= 0;
              assertEquals(calibrated, fromFile.resolvedBucket(l, h, n, k) >= 0);
              if (calibrated) {
                assertEquals(Float.floatToIntBits(table.threshold(l, h, n, k)),
                    Float.floatToIntBits(fromFile.threshold(l, h, n, k)));
                assertEquals(Double.doubleToLongBits(table.sdcMass(l, h, n, k)),
                    Double.doubleToLongBits(fromFile.sdcMass(l, h, n, k)));
                compared++;
              }
            }
          }
        }
      }
      assertTrue(compared > 200, compared + " lookups compared");
    }
  }

  @Test
  void thresholdsArrayIsNullWhereNoCalibrationRowWasLongerThanK() throws IOException {
    CalibrationState state = Fixtures.state(2);
    ThresholdManifest m = ThresholdManifest.of(Fixtures.table(state, Placement.POST_SOFTMAX), state,
        Fixtures.provenance(), Map.of(), null);
    // rows are at most 700 long and the model allows 1024: the longest buckets borrow θ
    int last = m.rowLengthIndex().lowerBounds().length - 1;
    assertEquals(0, m.rows()[0][0][last][0]);
    assertTrue(m.thresholds()[0][0][last][0] != null);
    assertNull(m.sdcMass()[0][0][last][0], "post-softmax tables have no SDC mass");
    assertNull(m.thresholds()[0][0][3][0], "rows of length 4 are never thresholded for k = 4");
    assertTrue(m.thresholds()[0][0][4][0] != null, "length 5 > k = 4 borrows or has θ");
    String json = m.toJson();
    assertTrue(json.contains("\"modelContentHash\" : \"abab"), "model hash recorded");
    assertTrue(json.contains("\"europarl-en\""), "corpus fingerprints recorded");
    assertTrue(json.contains("\"stateSizeBytes\""));
  }

  @Test
  void unknownFieldsWrongVersionsAndBadShapesAreRejectedNamingTheFile() throws IOException {
    CalibrationState state = Fixtures.state(3);
    ThresholdManifest m = ThresholdManifest.of(Fixtures.table(state, Placement.PRE_SOFTMAX), state,
        Fixtures.provenance(), Map.of(), null);
    String json = m.toJson();
    Path unknown = dir.resolve("unknown.json");
    Files.writeString(unknown, json.replaceFirst("\\{", "{ \"thresholdz\" : 1,"));
    IOException e = assertThrows(IOException.class, () -> ThresholdManifest.read(unknown));
    assertTrue(e.getMessage().contains("unknown.json") && e.getMessage().contains("thresholdz"),
        e.getMessage());
    Path newer = dir.resolve("newer.json");
    Files.writeString(newer, json.replace("\"formatVersion\" : 1", "\"formatVersion\" : 2"));
    e = assertThrows(IOException.class, () -> ThresholdManifest.read(newer));
    assertTrue(e.getMessage().contains("'formatVersion' 2"), e.getMessage());
    Path shape = dir.resolve("shape.json");
    Files.writeString(shape, json.replace("\"numHeads\" : 3", "\"numHeads\" : 4"));
    e = assertThrows(IOException.class, () -> ThresholdManifest.read(shape));
    assertTrue(e.getMessage().contains("'thresholds' must have 4 entries in dimension 1"),
        e.getMessage());
  }

  @Test
  void provenanceRecordsCodeVersionAndRejectsMalformedFingerprints() {
    Provenance p = Fixtures.provenance();
    assertNotEquals("unknown", p.codeVersion());
    assertTrue(p.codeVersion().startsWith("0.1.0"), p.codeVersion());
    assertEquals("2026-11-23T10:00:00Z", p.createdAt());
    assertEquals(List.of("europarl-en", "java-src"), List.copyOf(p.corpusFingerprints().keySet()));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Provenance.capture("m", "h", Fixtures.CONFIG, Map.of("de", "xyz"), 1, Fixtures.CLOCK));
    assertTrue(e.getMessage().contains("'corpusFingerprints.de' is set to xyz"), e.getMessage());
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        Sha256.of("abc".getBytes()));
  }
}
