package io.thetacal.bench;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.Models;
import io.thetacal.model.TransformerModel;
import java.lang.management.ManagementFactory;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The forward passes of top-k at calibration (TAC), as the calibrate job runs them: all-MiniLM-L6-v2 at batch
 * 8 × 128 tokens, exact top-k attention in every layer for k = 16, 32, 64 and both placements, each pass
 * feeding its k's observer of one {@link CalibrationState} (job defaults); then, for scale, a dense pass with
 * and without the all-k statistics. Prints the SHA-256 of the TAC passes' hidden states and of the state (two
 * builds must print the same), wall time per pass as the job runs it (attention only) (median, min – max over
 * repetitions) and process CPU per pass. Argument: timed repetitions of the six passes (default 7).
 */
public final class TacForwardBenchmark {
  private static final int[] KS = {16, 32, 64};

  private TacForwardBenchmark() {
  }

  public static void main(String[] args) throws Exception {
    int reps = args.length > 0 ? Integer.parseInt(args[0]) : 7;
    try (TransformerModel model = Models.load(Models.DEFAULT_ID)) {
      List<int[]> batch = EncoderCalibrationBenchmark.windows(model, EncoderCalibrationBenchmark.BATCH);
      CalibrationState state = new CalibrationState(CalibrationGeometry.of(model.info()),
          EncoderCalibrationBenchmark.jobConfig());
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (int k : KS) {
        for (Placement p : Placement.values()) {
          ForwardResult r = model.forward(new ForwardRequest(batch, AttentionMode.topK(k, p),
              state.observerForK(k, p), true, false));
          for (var s : r.sequences()) {
            for (float f : s.hidden()) {
              int bits = Float.floatToRawIntBits(f);
              md.update(new byte[] {(byte) (bits >>> 24), (byte) (bits >>> 16), (byte) (bits >>> 8), (byte) bits});
            }
          }
        }
      }
      md.update(state.serialize());
      System.out.println("TAC hidden states and state: " + HexFormat.of().formatHex(md.digest()).substring(0, 16));
      var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      double[] ms = new double[reps];
      double[] cpu = new double[reps];
      for (int rep = -3; rep < reps; rep++) {
        long c0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        for (int k : KS) {
          for (Placement p : Placement.values()) {
            model.forward(ForwardRequest.attentionOnly(batch, AttentionMode.topK(k, p),
                state.observerForK(k, p)));
          }
        }
        if (rep >= 0) {
          ms[rep] = (System.nanoTime() - t0) / 1e6 / (2 * KS.length);
          cpu[rep] = (os.getProcessCpuTime() - c0) / 1e6 / (2 * KS.length);
        }
      }
      Arrays.sort(ms);
      Arrays.sort(cpu);
      System.out.printf("TAC pass (batch 8 x 128): median %.1f ms (min %.1f, max %.1f), process CPU %.1f ms%n",
          ms[reps / 2], ms[0], ms[reps - 1], cpu[reps / 2]);
      for (boolean stats : new boolean[] {true, false}) {
        double[] d = new double[reps];
        for (int rep = -3; rep < reps; rep++) {
          long t0 = System.nanoTime();
          model.forward(ForwardRequest.attentionOnly(batch, AttentionMode.dense(), stats ? state : null));
          if (rep >= 0) {
            d[rep] = (System.nanoTime() - t0) / 1e6;
          }
        }
        Arrays.sort(d);
        System.out.printf("dense pass%s: median %.1f ms%n", stats ? " with all-k statistics" : "", d[reps / 2]);
      }
      System.out.println("load " + Bench.loadavg());
    }
  }
}
