package io.thetacal.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.ThresholdTable;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.Models;
import io.thetacal.model.Sentences;
import io.thetacal.model.TextEncoding;
import io.thetacal.model.TransformerModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The kernel's own per-(layer, head) kept counts on a real model: they add up to its per-layer counts,
 * and they equal a brute-force count of a_j &gt; θ over the scores the observer sees before pruning.
 */
class AttentionStatsPerHeadTest {

  @Test
  void perHeadCountsSumToTheLayerAndMatchABruteForceCountOnMiniLm() throws Exception {
    try (TransformerModel model = Models.load(Models.DEFAULT_ID)) {
      ModelInfo info = model.info();
      List<int[]> seqs = TextEncoding.encode(model.tokenizer(), Sentences.REAL, 64,
          TextEncoding.Overflow.TRUNCATE).sequences();
      CalibrationConfig cc = CalibrationConfig.defaults().withKGrid(List.of(4, 8));
      CalibrationState state = new CalibrationState(CalibrationGeometry.of(info), cc);
      model.forward(ForwardRequest.of(seqs).withObserver(state).withLogits(false));
      ThresholdTable table = ThresholdTable.from(state, Placement.PRE_SOFTMAX, cc.estimatorInstance());
      AttentionMode.TopTheta mode = AttentionMode.topTheta(table, 4);

      int layers = info.numLayers();
      int heads = info.numHeads();
      long[][] rows = new long[layers][heads];
      long[][] kept = new long[layers][heads];
      long[][] elements = new long[layers][heads];
      AttentionObserver bruteForce = row -> {
        int n = row.n();
        if (n <= mode.k()) {
          return;
        }
        float theta = table.threshold(row.layer(), row.head(), n, mode.k());
        int count = 0;
        for (int j = 0; j < n; j++) {
          if (row.score(j) > theta) {
            count++;
          }
        }
        rows[row.layer()][row.head()]++;
        kept[row.layer()][row.head()] += count;
        elements[row.layer()][row.head()] += n;
      };
      AttentionStats stats = model.forward(ForwardRequest.of(seqs).withMode(mode).withObserver(bruteForce)
          .withLogits(false)).stats();

      long pruned = 0;
      for (int l = 0; l < layers; l++) {
        long sumRows = 0;
        long sumKept = 0;
        long sumElements = 0;
        for (int h = 0; h < heads; h++) {
          String at = "layer " + l + ", head " + h;
          assertEquals(rows[l][h], stats.thresholdedRows(l, h), at + " rows");
          assertEquals(kept[l][h], stats.thresholdedKept(l, h), at + " kept");
          assertEquals(elements[l][h], stats.thresholdedElements(l, h), at + " elements");
          sumRows += stats.thresholdedRows(l, h);
          sumKept += stats.thresholdedKept(l, h);
          sumElements += stats.thresholdedElements(l, h);
          pruned += stats.thresholdedElements(l, h) - stats.thresholdedKept(l, h);
        }
        assertEquals(stats.thresholdedRows(l), sumRows, "layer " + l + " rows");
        assertEquals(stats.thresholdedKept(l), sumKept, "layer " + l + " kept");
        assertEquals(stats.thresholdedElements(l), sumElements, "layer " + l + " elements");
      }
      assertTrue(pruned > 0, "the thresholds pruned something");
      assertTrue(stats.thresholdedRows(0, 0) > 0, "rows longer than k were thresholded");
    }
  }

  @Test
  void perHeadCountsMergeAndHeadsWithoutRowsCountZero() {
    AttentionStats a = new AttentionStats(2);
    a.recordRow(1, 3, 10, 4, true);
    a.recordRow(1, 3, 2, 2, false);
    AttentionStats b = new AttentionStats(2);
    b.recordRow(1, 5, 20, 6, true);
    b.recordRow(1, 3, 8, 1, true);
    a.merge(b);
    assertEquals(2, a.thresholdedRows(1, 3));
    assertEquals(5, a.thresholdedKept(1, 3));
    assertEquals(18, a.thresholdedElements(1, 3));
    assertEquals(1, a.thresholdedRows(1, 5));
    assertEquals(0, a.thresholdedRows(1, 4));
    assertEquals(0, a.thresholdedRows(0, 7));
    assertEquals(a.thresholdedRows(1), a.thresholdedRows(1, 3) + a.thresholdedRows(1, 5));
  }
}
