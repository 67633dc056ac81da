package io.thetacal.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionStats;
import io.thetacal.attention.Placement;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.Models;
import io.thetacal.model.Sentences;
import io.thetacal.model.TransformerModel;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DepthCorrectionTest {
  private static final List<Integer> KS = List.of(4, 8);
  private static TransformerModel model;
  private static List<int[]> sentences;
  private static CalibrationState state;

  /** Top-k at calibration on real sentences, as the calibrate job runs it. */
  @BeforeAll
  static void calibrate() {
    model = Models.load(Models.DEFAULT_ID);
    sentences = Sentences.REAL.stream().map(model.tokenizer()::encode).toList();
    CalibrationConfig c = CalibrationConfig.defaults().withKGrid(KS).withPlacements(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX).withHistogramsPerK(true)
        .withEstimator(EstimatorKind.HISTOGRAM_QUANTILE);
    state = new CalibrationState(CalibrationGeometry.of(model.info()), c);
    for (Placement p : c.placements()) {
      for (int k : KS) {
        model.forward(new ForwardRequest(sentences, AttentionMode.topK(k, p), state.observerForK(k, p),
            false, false));
      }
    }
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static HoldoutCheck.Result keptOnSentences(ThresholdTable table) {
    Map<Integer, AttentionStats> byK = new LinkedHashMap<>();
    for (int k : KS) {
      byK.put(k, model.forward(new ForwardRequest(sentences, AttentionMode.topTheta(table, k), null, false,
          false)).stats());
    }
    return HoldoutCheck.evaluate(byK);
  }

  @Test
  void correctedThresholdsKeepKPerRowWithTopThetaInEveryLayer() {
    for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
      ThresholdTable table = ThresholdTable.from(state, p, state.config().estimatorInstance());
      DepthCorrection c = DepthCorrection.fit(model, table, sentences);
      HoldoutCheck.Result before = keptOnSentences(table);
      HoldoutCheck.Result after = keptOnSentences(c.apply(table));
      System.out.printf("%s: worst |kept/k - 1| %.4f before, %.4f after; shifts %s%n", p,
          before.worstDeviation(), after.worstDeviation(), Arrays.deepToString(c.shifts()));
      assertEquals(sentences.size(), c.sequences());
      assertEquals(DepthCorrection.ITERATIONS, c.iterations());
      assertTrue(after.worstDeviation() < before.worstDeviation(), p + ": " + after.worstDeviation()
          + " is not below " + before.worstDeviation());
      assertTrue(after.worstDeviation() <= 0.03, p + ": " + after.entries());
      assertEquals(c, DepthCorrection.fit(model, table, sentences), "the fit is deterministic");
    }
  }

  @Test
  void marginsOfBatchesMergeInAnyOrderAndTheFitDoesNotDependOnIt() throws Exception {
    ThresholdTable table = ThresholdTable.from(state, Placement.PRE_SOFTMAX, state.config().estimatorInstance());
    List<List<int[]>> batches = DepthCorrection.batches(sentences);
    assertEquals(3, batches.size(), "20 sentences in batches of " + DepthCorrection.BATCH);
    DepthCorrection.Margins a = DepthCorrection.Margins.measure(model, table, batches.get(0));
    DepthCorrection.Margins b = DepthCorrection.Margins.measure(model, table, batches.get(1));
    DepthCorrection.Margins c = DepthCorrection.Margins.measure(model, table, batches.get(2));
    int layers = state.geometry().numLayers();
    DepthCorrection.Margins abc = new DepthCorrection.Margins(KS.size(), layers).merge(a).merge(b).merge(c);
    DepthCorrection.Margins cab = new DepthCorrection.Margins(KS.size(), layers).merge(c).merge(a).merge(b);
    DepthCorrection.Margins bc = new DepthCorrection.Margins(KS.size(), layers).merge(b).merge(c);
    assertEquals(abc, cab, "commutative");
    assertEquals(abc, new DepthCorrection.Margins(KS.size(), layers).merge(a).merge(bc), "associative");
    assertEquals(a.rows(0, 0) + b.rows(0, 0) + c.rows(0, 0), abc.rows(0, 0));
    assertTrue(abc.rows(0, layers - 1) > 0);
    // a measurer that measures the batches in reverse order and merges them the other way round
    DepthCorrection reversed = DepthCorrection.fit(table, sentences.size(), shifted -> {
      DepthCorrection.Margins m = new DepthCorrection.Margins(KS.size(), layers);
      for (int i = batches.size() - 1; i >= 0; i--) {
        m = DepthCorrection.Margins.measure(model, shifted, batches.get(i)).merge(m);
      }
      return m;
    });
    assertEquals(DepthCorrection.fit(model, table, sentences), reversed);
    assertThrows(IllegalArgumentException.class, () -> a.merge(new DepthCorrection.Margins(1, layers)));
  }

  @Test
  void anEmptySampleShiftsNothing() {
    ThresholdTable table = ThresholdTable.from(state, Placement.PRE_SOFTMAX, state.config().estimatorInstance());
    DepthCorrection c = DepthCorrection.fit(model, table, List.of());
    assertEquals(0, c.iterations());
    assertTrue(Arrays.stream(c.shifts()).flatMapToDouble(Arrays::stream).allMatch(s -> s == 0));
    assertEquals(table, c.apply(table));
  }

  @Test
  void shiftsAddToPreSoftmaxThetaAndScalePostSoftmaxTheta() {
    int layers = state.geometry().numLayers();
    double[][] shifts = new double[KS.size()][layers];
    shifts[1][layers - 1] = 0.25;
    for (Placement p : List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX)) {
      ThresholdTable t = ThresholdTable.from(state, p, state.config().estimatorInstance());
      ThresholdTable s = t.shifted(shifts);
      int heads = state.geometry().numHeads();
      int changed = 0;
      for (int l = 0; l < layers; l++) {
        for (int h = 0; h < heads; h++) {
          for (int b = 0; b < t.rowLengthIndex().numBuckets(); b++) {
            for (int ki = 0; ki < KS.size(); ki++) {
              float before = t.cellTheta(l, h, b, ki);
              float expected = l == layers - 1 && ki == 1
                  ? (p == Placement.PRE_SOFTMAX ? (float) (before + 0.25) : (float) (before * StrictMath.exp(0.25)))
                  : before;
              assertEquals(expected, s.cellTheta(l, h, b, ki), p + " " + l + "/" + h + "/" + b + "/" + ki);
              assertEquals(t.cellRows(l, h, b, ki), s.cellRows(l, h, b, ki));
              changed += !Float.isNaN(before) && expected != before ? 1 : 0;
            }
          }
        }
      }
      assertTrue(changed > 0);
      assertNotEquals(t, s);
    }
    assertThrows(IllegalArgumentException.class, () -> ThresholdTable.from(state, Placement.PRE_SOFTMAX,
        state.config().estimatorInstance()).shifted(new double[1][layers]));
  }

  @Test
  void theMarginKeepingTargetIsInterpolatedWithinItsBin() {
    long[] hist = new long[2 * 8 * 1024 + 2];
    // bins 1 .. 2·8·1024 cover margins [-8, 8) in steps of 1/1024: bin 8·1024 + 1 is [0, 1/1024)
    hist[8 * 1024 + 1] = 4;
    hist[8 * 1024 + 2] = 2;
    assertEquals(1.0 / 1024, DepthCorrection.marginKeeping(hist, 2), 1e-15);
    assertEquals(0.5 / 1024, DepthCorrection.marginKeeping(hist, 4), 1e-15);
    assertEquals(0.0, DepthCorrection.marginKeeping(hist, 6), 1e-15);
  }
}
