package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class CalibrationConfigTest {

  private static void assertRejected(Executable e, String... fragments) {
    IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
    for (String f : fragments) {
      assertTrue(ex.getMessage().contains(f), "'" + ex.getMessage() + "' lacks '" + f + "'");
    }
  }

  @Test
  void defaultsAreThePapersSettings() {
    CalibrationConfig c = CalibrationConfig.defaults();
    assertEquals(List.of(16, 32, 64, 128, 256), c.kGrid());
    assertEquals(0.1, c.sigmaAdd());
    assertEquals(List.of(Placement.PRE_SOFTMAX), c.placements());
    assertEquals(EstimatorKind.MEAN_STD, c.estimator());
    assertEquals(64, c.exactLengthLimit());
    assertEquals(8, c.bucketsPerOctave());
  }

  @Test
  void userKValuesJoinTheGridSortedAndUnique() {
    CalibrationConfig c = CalibrationConfig.defaults().withAdditionalK(512, 8, 64, 8);
    assertEquals(List.of(8, 16, 32, 64, 128, 256, 512), c.kGrid());
    assertEquals(c, CalibrationConfig.defaults().withKGrid(List.of(512, 256, 128, 64, 32, 16, 8)));
    assertEquals(6, c.kIndex(512));
    assertRejected(() -> c.kIndex(100), "k = 100 is not in the calibrated k grid [8, 16");
  }

  @Test
  void placementsAreNormalised() {
    CalibrationConfig c = CalibrationConfig.defaults()
        .withPlacements(Placement.POST_SOFTMAX, Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX);
    assertEquals(List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX), c.placements());
  }

  @Test
  void invalidValuesNameTheKeyAndWhatIsAllowed() {
    CalibrationConfig d = CalibrationConfig.defaults();
    assertRejected(() -> d.withAdditionalK(0), "'kGrid' contains 0", "must be > 0");
    assertRejected(() -> d.withKGrid(List.of()), "'kGrid' is empty");
    assertRejected(() -> d.withKGrid(Arrays.asList(16, null)), "'kGrid' contains null");
    assertRejected(() -> d.withSigmaAdd(Double.NaN), "'sigmaAdd' is set to NaN", "finite");
    assertRejected(() -> d.withPlacements(), "'placements' is set to []", "PRE_SOFTMAX, POST_SOFTMAX");
    assertRejected(() -> d.withRowLengths(0, 8), "'exactLengthLimit' is set to 0", ">= 1");
    assertRejected(() -> d.withRowLengths(64, 0), "'bucketsPerOctave' is set to 0", "1..1024");
    assertRejected(() -> d.withHistogram(5, 5, 10), "'histogramMin' and 'histogramMax'");
    assertRejected(() -> d.withHistogram(-1, 1, -1), "'histogramBins' is set to -1", "0..65536");
    assertRejected(() -> d.withHistogram(-1, 1, 0).withEstimator(EstimatorKind.HISTOGRAM_QUANTILE),
        "'estimator' is set to HISTOGRAM_QUANTILE", "histogramBins");
  }

  @Test
  void geometryValidationNamesTheKey() {
    assertRejected(() -> new CalibrationGeometry(0, 1, 1), "'numLayers' is set to 0");
    assertRejected(() -> new CalibrationGeometry(1, 1, 1 << 23), "'maxPositions' is set to 8388608");
  }

  @Test
  void optionsTakeDefaultsParseListsAndEnumsAndRejectUnknownKeys() {
    assertEquals(CalibrationConfig.defaults(), CalibrationConfig.fromOptions(java.util.Map.of()));
    CalibrationConfig c = CalibrationConfig.fromOptions(java.util.Map.of(
        "additionalK", "512, 8", "sigmaAdd", "0.25", "placements", List.of("post_softmax", "PRE_SOFTMAX"),
        "histogramBins", 64, "estimator", "histogram_quantile"));
    assertEquals(List.of(8, 16, 32, 64, 128, 256, 512), c.kGrid());
    assertEquals(0.25, c.sigmaAdd());
    assertEquals(List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX), c.placements());
    assertEquals(64, c.histogramBins());
    assertEquals(EstimatorKind.HISTOGRAM_QUANTILE, c.estimator());
    assertEquals(List.of(4, 40), CalibrationConfig.fromOptions(java.util.Map.of("kGrid", "40,4")).kGrid());

    assertRejected(() -> CalibrationConfig.fromOptions(java.util.Map.of("sigmaAd", 1, "kgrid", 2)),
        "Cannot use calibration options [kgrid, sigmaAd]", "supported options are [kGrid,");
    assertRejected(() -> CalibrationConfig.fromOptions(java.util.Map.of("sigmaAdd", "lots")),
        "'sigmaAdd' is set to lots but must be a number");
    assertRejected(() -> CalibrationConfig.fromOptions(java.util.Map.of("histogramBins", 1.5)),
        "'histogramBins' is set to 1.5 but must be an integer");
    assertRejected(() -> CalibrationConfig.fromOptions(java.util.Map.of("kGrid", "16,x")),
        "'kGrid' contains x");
    assertRejected(() -> CalibrationConfig.fromOptions(java.util.Map.of("placements", "MIDDLE")),
        "'placements' is set to MIDDLE but must be one of [PRE_SOFTMAX, POST_SOFTMAX]");
    assertRejected(() -> CalibrationConfig.fromOptions(java.util.Map.of("estimator", "MEDIAN")),
        "'estimator' is set to MEDIAN but must be one of [MEAN_STD, HISTOGRAM_QUANTILE]");
  }
}
