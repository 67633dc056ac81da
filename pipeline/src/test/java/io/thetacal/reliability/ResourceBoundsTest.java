package io.thetacal.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.Placement;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.calibration.EstimatorKind;
import io.thetacal.calibration.RowLengthIndex;
import io.thetacal.calibration.ThresholdTable;
import io.thetacal.model.bert.BertEncoder;
import io.thetacal.model.llama.DecoderSession;
import io.thetacal.model.llama.LlamaConfig;
import io.thetacal.model.llama.RopeLayout;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The memory bounds stated in the code, checked on a large geometry (80 layers x 64 heads x 32k
 * context) by arithmetic alone: nothing of that size is allocated.
 */
class ResourceBoundsTest {
  private static final int LAYERS = 80;
  private static final int HEADS = 64;
  private static final int CONTEXT = 32_768;
  private static final CalibrationGeometry LARGE = new CalibrationGeometry(LAYERS, HEADS, CONTEXT);

  @Test
  void stateOfTheLargeGeometryIsBoundedByGeometryAndConfigOnly() {
    int buckets = RowLengthIndex.defaults(CONTEXT).numBuckets();
    assertEquals(136, buckets);
    long headBuckets = (long) LAYERS * HEADS * buckets;
    long header = 4 * 11 + 4 * 5 + 8 * 4 + 8 * 2;
    // pre-softmax: count + 3 Int128 sums per k; histogram: rows + 256 bins + under/overflow
    long pre = header + 8 * headBuckets * (5 * 7 + 1 + 256 + 2) + 8;
    assertEquals(1_637_744_760L, pre);
    assertEquals(pre, CalibrationState.sizeBytesFor(LARGE, CalibrationConfig.defaults()));
    assertTrue(pre <= CalibrationState.MAX_STATE_BYTES);
    // both placements add 2 Int128 sums per k and a log-probability histogram: at 256 bins that no
    // longer fits one state for this geometry, at 128 bins it does
    CalibrationConfig both = CalibrationConfig.defaults().withPlacements(Placement.PRE_SOFTMAX,
        Placement.POST_SOFTMAX).withHistogram(-16, 48, 128);
    assertEquals(header + 8 * headBuckets * (5 * 11 + 1 + 130 + 130) + 8, CalibrationState.sizeBytesFor(LARGE, both));
    assertTrue(CalibrationState.sizeBytesFor(LARGE, both) <= CalibrationState.MAX_STATE_BYTES);
    assertTrue(CalibrationState.sizeBytesFor(LARGE, both.withHistogram(-16, 48, 256))
        > CalibrationState.MAX_STATE_BYTES);
    assertEquals(48L * CONTEXT + 8, CalibrationState.scratchBytesFor(LARGE));
    assertEquals(headBuckets * 5 * 40, ThresholdTable.sizeBytesFor(LARGE, CalibrationConfig.defaults()));
  }

  @Test
  void aStateBeyondTheLimitIsRefusedBeforeAllocatingAndNamesTheSettingsToChange() {
    List<Integer> grid = IntStream.rangeClosed(1, 32).map(i -> 8 * i).boxed().toList();
    CalibrationConfig big = new CalibrationConfig(grid, 0.1, List.of(Placement.PRE_SOFTMAX, Placement.POST_SOFTMAX),
        RowLengthIndex.EXACT_LIMIT_DEFAULT, RowLengthIndex.BUCKETS_PER_OCTAVE_DEFAULT,
        CalibrationConfig.HISTOGRAM_MIN_DEFAULT, CalibrationConfig.HISTOGRAM_MAX_DEFAULT,
        CalibrationConfig.HISTOGRAM_BINS_DEFAULT, EstimatorKind.MEAN_STD);
    long size = CalibrationState.sizeBytesFor(LARGE, big);
    assertTrue(size > CalibrationState.MAX_STATE_BYTES, "size " + size);

    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long tid = Thread.currentThread().getId();
    long before = mx.getThreadAllocatedBytes(tid);
    long t0 = System.nanoTime();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CalibrationState(LARGE, big));
    long millis = (System.nanoTime() - t0) / 1_000_000;
    long allocated = mx.getThreadAllocatedBytes(tid) - before;
    assertTrue(allocated < (1 << 20), "allocated " + allocated + " bytes before refusing");
    assertTrue(millis < 1000, millis + " ms");
    assertTrue(e.getMessage().contains(Long.toString(size)), e.getMessage());
    assertTrue(e.getMessage().contains("'kGrid'") && e.getMessage().contains("'histogramBins'"), e.getMessage());
  }

  @Test
  void encoderScoreBufferBoundRulesOutLongContextsAtAnyBatch() {
    long perSequence = 4L * HEADS * CONTEXT * CONTEXT;
    assertEquals(perSequence, BertEncoder.scoreBufferBytesFor(1, HEADS, CONTEXT));
    assertEquals(16 * perSequence, BertEncoder.scoreBufferBytesFor(16, HEADS, CONTEXT));
    assertTrue(BertEncoder.scoreBufferBytesFor(1, HEADS, CONTEXT) > BertEncoder.MAX_SCORE_BUFFER_BYTES);
    // the longest row one sequence of 64 heads can have within the bound
    int longest = (int) Math.floor(Math.sqrt(BertEncoder.MAX_SCORE_BUFFER_BYTES / (4.0 * HEADS)));
    assertTrue(BertEncoder.scoreBufferBytesFor(1, HEADS, longest) <= BertEncoder.MAX_SCORE_BUFFER_BYTES);
    assertTrue(BertEncoder.scoreBufferBytesFor(1, HEADS, longest + 1) > BertEncoder.MAX_SCORE_BUFFER_BYTES);
    assertEquals(5792, longest);
    // the shipped encoders' default calibration batch: 16 x 12 heads x 128 tokens
    assertEquals(12_582_912L, BertEncoder.scoreBufferBytesFor(16, 12, 128));
  }

  @Test
  void decoderKvCacheAndScoreScratchBoundsAtFullContext() {
    LlamaConfig c = new LlamaConfig(32_000, 8192, 28_672, LAYERS, HEADS, 8, 128, 128, 500_000, 1e-5, CONTEXT,
        RopeLayout.ROTATE_HALF, false, false);
    long kv = 2L * 4 * LAYERS * (8 * 128) * (CONTEXT + 1);
    assertEquals(kv, DecoderSession.kvCacheBytesFor(c, CONTEXT));
    assertEquals(kv, DecoderSession.kvCacheBytesFor(c, Integer.MAX_VALUE), "capped at maxPositions");
    assertEquals(21_475_491_840L, kv);
    // one decode step over the full context, and a 512-token prefill chunk
    assertEquals(4L * CONTEXT + 8L * (CONTEXT / 64) + 4, DecoderSession.scoreScratchBytesFor(1, CONTEXT));
    assertEquals(4L * 512 * CONTEXT + 8L * 512 * (CONTEXT / 64) + 4 * 512,
        DecoderSession.scoreScratchBytesFor(512, CONTEXT));
  }
}
