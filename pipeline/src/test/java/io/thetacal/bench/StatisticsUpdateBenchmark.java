package io.thetacal.bench;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.Placement;
import io.thetacal.attention.RowReplay;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.Models;
import io.thetacal.model.TransformerModel;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The statistics alone: captures the attention rows of real forward passes (the encoder benchmark's
 * batches), then times {@link CalibrationState#update} over the captured rows by thread CPU time and
 * prints the SHA-256 of the resulting serialized states (the all-k observer and every per-k TAC
 * observer), so that two builds can be compared for speed and for bitwise identical states.
 * Arguments: batches to capture (default 2), timed repetitions (default 7).
 */
public final class StatisticsUpdateBenchmark {
  private StatisticsUpdateBenchmark() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("long")) {
      longRows(args.length > 1 ? Integer.parseInt(args[1]) : 5);
      return;
    }
    int batches = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    int reps = args.length > 1 ? Integer.parseInt(args[1]) : 7;
    RowReplay rows = new RowReplay();
    CalibrationConfig cc = EncoderCalibrationBenchmark.jobConfig();
    CalibrationGeometry geometry;
    try (TransformerModel model = Models.load(Models.DEFAULT_ID)) {
      geometry = CalibrationGeometry.of(model.info());
      List<int[]> corpus = EncoderCalibrationBenchmark.windows(model,
          batches * EncoderCalibrationBenchmark.BATCH);
      for (int b = 0; b < batches; b++) {
        List<int[]> batch = corpus.subList(b * EncoderCalibrationBenchmark.BATCH,
            (b + 1) * EncoderCalibrationBenchmark.BATCH);
        model.forward(new ForwardRequest(batch, AttentionMode.dense(), rows, false, false));
      }
    }
    System.out.printf("captured %d rows, %d scores, %d batches%n", rows.size(), rows.elements(), batches);
    for (CalibrationConfig c : List.of(cc, cc.withPlacements(Placement.PRE_SOFTMAX),
        cc.withPlacements(Placement.POST_SOFTMAX), cc.withHistogram(-16, 48, 0),
        cc.withHistogram(-2, 2, 16))) {
      CalibrationState all = new CalibrationState(geometry, c);
      rows.replay(all);
      String name = c.placements() + ", " + c.histogramBins() + " bins";
      System.out.println("state " + name + " all-k " + sha(all));
      CalibrationState tac = new CalibrationState(geometry, c);
      for (int k : c.kGrid()) {
        rows.replay(tac.observerForK(k));
      }
      System.out.println("state " + name + " tac   " + sha(tac));
    }
    time("pre+post, " + cc.histogramBins() + " bins (the job's defaults)", rows, geometry, cc, reps, batches);
    time("post only (no masses)", rows, geometry, cc.withPlacements(Placement.POST_SOFTMAX), reps, batches);
    time("pre only", rows, geometry, cc.withPlacements(Placement.PRE_SOFTMAX), reps, batches);
    time("histogram only (k grid [256]: no k below n)", rows, geometry, cc.withKGrid(List.of(256)), reps,
        batches);
    time("one k (k grid [64, 256])", rows, geometry, cc.withKGrid(List.of(64, 256)), reps, batches);
    time("two k (k grid [16, 64, 256])", rows, geometry, cc.withKGrid(List.of(16, 64, 256)), reps, batches);
    time("no histograms", rows, geometry, cc.withHistogram(-16, 48, 0), reps, batches);
    time("nothing to record (no histograms, k grid [256])", rows, geometry,
        cc.withHistogram(-16, 48, 0).withKGrid(List.of(256)), reps, batches);
    System.out.println("load " + Bench.loadavg());
  }

  private static void time(String label, RowReplay rows, CalibrationGeometry geometry, CalibrationConfig cc,
      int reps, int batches) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    double[] nsPerRow = new double[reps];
    // at least ~100k warm-up rows, so that the JIT has compiled every path before timing
    for (int w = 0; w < Math.max(3, 100_000 / rows.size()); w++) {
      rows.replay(new CalibrationState(geometry, cc));
    }
    for (int r = 0; r < reps; r++) {
      CalibrationState st = new CalibrationState(geometry, cc);
      long c0 = threads.getCurrentThreadCpuTime();
      rows.replay(st);
      nsPerRow[r] = (threads.getCurrentThreadCpuTime() - c0) / (double) rows.size();
    }
    Arrays.sort(nsPerRow);
    System.out.printf("update CPU per row, %s: median %.0f ns (min %.0f, max %.0f) over %d reps; per "
        + "batch of %d rows: %.1f ms%n", label, nsPerRow[reps / 2], nsPerRow[0], nsPerRow[reps - 1], reps,
        rows.size() / batches, nsPerRow[reps / 2] * rows.size() / batches / 1e6);
  }

  /** Gaussian rows of 512, 2048 and 8192 scores (as SelectionCostTest), histograms off and on. */
  private static void longRows(int reps) throws Exception {
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(1);
    for (int n : new int[] {512, 2048, 8192}) {
      CalibrationGeometry g = new CalibrationGeometry(1, 1, n);
      RowReplay rows = new RowReplay();
      for (int r = 0; r < 200; r++) {
        float[] s = new float[n];
        for (int j = 0; j < n; j++) {
          s[j] = (float) rnd.nextGaussian();
        }
        rows.add(0, 0, s);
      }
      for (CalibrationConfig c : List.of(
          CalibrationConfig.defaults().withHistogram(-16, 48, 0).withPlacements(Placement.PRE_SOFTMAX),
          EncoderCalibrationBenchmark.jobConfig())) {
        CalibrationState all = new CalibrationState(g, c);
        rows.replay(all);
        time("n = " + n + ", " + c.histogramBins() + " bins, " + c.placements() + " [" + sha(all) + "]",
            rows, g, c, reps, 1);
      }
    }
    System.out.println("load " + Bench.loadavg());
  }

  private static String sha(CalibrationState s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.serialize()))
        .substring(0, 16) + " rows=" + s.rowsObserved();
  }
}
