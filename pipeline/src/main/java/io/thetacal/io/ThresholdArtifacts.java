package io.thetacal.io;

import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.ThresholdTable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The library-side files of one threshold version: thresholds.json, thresholds.arrow and state.bin. The
 * Spark job adds its Parquet files to the same (staging) directory before publishing.
 */
public final class ThresholdArtifacts {
  private ThresholdArtifacts() {
  }

  /** Writes thresholds.json, thresholds.arrow and state.bin into {@code dir}. */
  public static void write(Path dir, ThresholdTable table, CalibrationState state,
      ThresholdManifest manifest) throws IOException {
    manifest.write(dir.resolve(ThresholdManifest.FILE_NAME));
    Provenance p = manifest.provenance();
    ArrowThresholdWriter.write(table, dir.resolve(ArrowThresholdWriter.FILE_NAME), Map.of(
        "model_id", p.modelId(), "model_content_hash", p.modelContentHash(),
        "code_version", p.codeVersion(), "created_at", p.createdAt()));
    StateFiles.write(state, dir.resolve(StateFiles.FILE_NAME));
  }

  /** The manifest of a complete published version (refuses incomplete versions). */
  public static ThresholdManifest readManifest(VersionedDirectory root, String version)
      throws IOException {
    return ThresholdManifest.read(root.open(version).resolve(ThresholdManifest.FILE_NAME));
  }

  /** The mergeable state of a complete published version, for a refresh to resume from. */
  public static CalibrationState readState(VersionedDirectory root, String version)
      throws IOException {
    return StateFiles.read(root.open(version).resolve(StateFiles.FILE_NAME));
  }
}
