package io.thetacal.jobs.calibrate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.jobs.config.ConfigException;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** calibrate refuses, before Spark starts, settings whose per-task memory is beyond the stated bounds. */
class CalibrateBoundsTest {
  private static final CalibrationGeometry LARGE = new CalibrationGeometry(80, 64, 32_768);

  @Test
  void batchBufferBoundIsFourBytesPerTokenPlusAnIndexPerSequence() {
    assertEquals(16L * (4 * 128 + 8), CalibratePartition.batchBytesFor(16, 128));
    assertEquals(64L * (4 * 32_768 + 8), CalibratePartition.batchBytesFor(64, 32_768));
  }

  @Test
  void defaultsOnTheLargeGeometryPass() {
    CalibrateJob.checkBounds(LARGE, CalibrationConfig.defaults(), 16, 32_768);
  }

  @Test
  void aStateBeyondOneArrayNamesTheCalibrationKeys() {
    CalibrationConfig big = CalibrationConfig.defaults()
        .withKGrid(IntStream.rangeClosed(1, 32).map(i -> 8 * i).boxed().toList())
        .withPlacements(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX);
    ConfigException e = assertThrows(ConfigException.class, () -> CalibrateJob.checkBounds(LARGE, big, 16, 32_768));
    assertTrue(e.getMessage().contains("'calibration.k_grid'") && e.getMessage().contains("'calibration.placements'"),
        e.getMessage());
  }

  @Test
  void anOversizedBatchNamesTheModelKeys() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> CalibrateJob.checkBounds(LARGE, CalibrationConfig.defaults(), 4096, 32_768));
    assertTrue(e.getMessage().startsWith("'model.batch_size' is set to 4096"), e.getMessage());
    assertTrue(e.getMessage().contains("'model.max_sequence_length'"), e.getMessage());
  }
}
