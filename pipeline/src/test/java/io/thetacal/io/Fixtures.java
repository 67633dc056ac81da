package io.thetacal.io;

import io.thetacal.attention.AttentionKernel;
import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.Estimators;
import io.thetacal.calibration.ThresholdTable;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** A small calibrated state and table from seeded rows fed through the attention kernel. */
final class Fixtures {
  static final CalibrationGeometry GEOMETRY = new CalibrationGeometry(2, 3, 1024);
  static final CalibrationConfig CONFIG = CalibrationConfig.defaults()
      .withPlacements(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX).withAdditionalK(4);
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-23T10:00:00Z"), ZoneOffset.UTC);

  private Fixtures() {
  }

  static CalibrationState state(long seed) {
    CalibrationState s = new CalibrationState(GEOMETRY, CONFIG);
    AttentionKernel kernel = new AttentionKernel(AttentionMode.dense(), s, null);
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int l = 0; l < GEOMETRY.numLayers(); l++) {
      for (int h = 0; h < GEOMETRY.numHeads(); h++) {
        for (int r = 0; r < 60; r++) {
          int n = 1 + rnd.nextInt(700);
          float[] a = new float[n];
          for (int j = 0; j < n; j++) {
            a[j] = (float) (rnd.nextGaussian() * (1 + h) + l);
          }
          kernel.apply(l, h, 0, r, a, 0, n, null, 0);
        }
      }
    }
    return s;
  }

  static ThresholdTable table(CalibrationState s, Placement p) {
    return ThresholdTable.from(s, p, Estimators.meanStd(CONFIG.sigmaAdd()));
  }

  static Provenance provenance() {
    return Provenance.capture("tiny-test-model", "ab".repeat(32), CONFIG,
        Map.of("europarl-en", Sha256.of("en".getBytes()),
            "java-src", Sha256.of("java".getBytes())), 42L, CLOCK);
  }

  static List<Integer> lengths() {
    return List.of(1, 5, 17, 64, 65, 100, 333, 700, 701, 1024);
  }
}
