package io.thetacal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.calibration.CalibrationState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateFilesTest {
  @TempDir
  Path dir;

  @Test
  void stateFileRoundTripsAndAForeignFileIsRefusedNamingIt() throws IOException {
    CalibrationState s = Fixtures.state(11);
    Path f = dir.resolve(StateFiles.FILE_NAME);
    StateFiles.write(s, f);
    assertEquals(s.sizeBytes(), Files.size(f));
    assertEquals(s, StateFiles.read(f));
    Path foreign = dir.resolve("thresholds.json");
    Files.writeString(foreign, "{\"formatVersion\": 1}");
    IOException e = assertThrows(IOException.class, () -> StateFiles.read(foreign));
    assertTrue(e.getMessage().contains("thresholds.json") && e.getMessage().contains(
        "not a calibration state"), e.getMessage());
  }
}
