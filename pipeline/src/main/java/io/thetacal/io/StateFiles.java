package io.thetacal.io;

import io.thetacal.calibration.CalibrationState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The mergeable calibration state on disk (state.bin): the bytes of {@link CalibrationState#serialize()}. */
public final class StateFiles {
  public static final String FILE_NAME = "state.bin";

  private StateFiles() {
  }

  /** Writes the state to a temporary sibling file and renames it into place. */
  public static void write(CalibrationState state, Path file) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(tmp, state.serialize());
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Reads a state file.
   *
   * @throws IOException naming the file when it is missing, too large or not a valid state
   */
  public static CalibrationState read(Path file) throws IOException {
    long size = Files.size(file);
    if (size > CalibrationState.MAX_STATE_BYTES + 1024) {
      throw new IOException(file + " has " + size + " bytes, more than any calibration state ("
          + CalibrationState.MAX_STATE_BYTES + ")");
    }
    try {
      return CalibrationState.deserialize(Files.readAllBytes(file));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }
}
