package io.thetacal.calibration;

import io.thetacal.attention.AttentionKernel;
import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded synthetic attention rows, fed to observers through the real {@link AttentionKernel} path (the
 * kernel computes each row's max and denominator and calls the observer).
 */
final class SyntheticRows {
  /** One row of scores with its coordinates. */
  record Row(int layer, int head, int index, float[] scores) {
  }

  private SyntheticRows() {
  }

  /**
   * Rows of random lengths in 1..maxN for every (layer, head): mostly Gaussian scores with a per-head
   * scale and a few large "sink" scores, plus rows with heavy ties (scores on a coarse grid) and
   * constant rows.
   */
  static List<Row> generate(long seed, CalibrationGeometry g, int rowsPerHead, int maxN) {
    return generate(seed, g, rowsPerHead, maxN, true);
  }

  /** As {@link #generate(long, CalibrationGeometry, int, int)}; without ties and constant rows when asked. */
  static List<Row> generate(long seed, CalibrationGeometry g, int rowsPerHead, int maxN,
      boolean tiesAndConstants) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<Row> out = new ArrayList<>();
    for (int l = 0; l < g.numLayers(); l++) {
      for (int h = 0; h < g.numHeads(); h++) {
        double scale = 0.5 + 0.25 * ((l * 7 + h * 3) % 9);
        for (int r = 0; r < rowsPerHead; r++) {
          int n = 1 + rnd.nextInt(maxN);
          float[] s = new float[n];
          int kind = tiesAndConstants ? rnd.nextInt(10) : 3;
          for (int j = 0; j < n; j++) {
            if (kind == 0) {
              s[j] = 1.25f;
            } else if (kind <= 2) {
              s[j] = (float) (Math.floor(rnd.nextDouble() * 6) * 0.5 - 1);
            } else {
              s[j] = (float) (rnd.nextGaussian() * scale + (rnd.nextInt(50) == 0 ? 8 : 0));
            }
          }
          out.add(new Row(l, h, r, s));
        }
      }
    }
    return out;
  }

  /** Feeds rows to observers through a dense kernel, one kernel call per row. */
  static void feed(List<Row> rows, AttentionObserver... observers) {
    feed(rows, AttentionMode.dense(), observers);
  }

  /** Feeds rows to observers through a kernel of the given mode, one kernel call per row. */
  static void feed(List<Row> rows, AttentionMode mode, AttentionObserver... observers) {
    AttentionObserver all = row -> {
      for (AttentionObserver o : observers) {
        o.onRow(row);
      }
    };
    AttentionKernel kernel = new AttentionKernel(mode, all, null);
    for (Row r : rows) {
      float[] a = r.scores().clone();
      kernel.apply(r.layer(), r.head(), 0, r.index(), a, 0, a.length, null, 0);
    }
  }

  /** A state filled with the given rows. */
  static CalibrationState state(CalibrationGeometry g, CalibrationConfig c, List<Row> rows) {
    CalibrationState s = new CalibrationState(g, c);
    feed(rows, s);
    return s;
  }
}
