package io.thetacal.model.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionRow;
import io.thetacal.attention.Placement;
import io.thetacal.attention.RowHash;
import io.thetacal.calibration.CalibrationConfig;
import io.thetacal.calibration.CalibrationGeometry;
import io.thetacal.calibration.CalibrationState;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.Models;
import io.thetacal.model.Sentences;
import io.thetacal.model.TransformerModel;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Engine contracts beyond numerical parity: threading of capture, concurrency, batching, input checks. */
class BertEncoderTest {
  private static TransformerModel model;
  private static List<int[]> seqs;

  @BeforeAll
  static void load() {
    model = Models.load(Models.DEFAULT_ID);
    seqs = Sentences.REAL.stream().map(model.tokenizer()::encode).toList();
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void captureCallbacksComeFromTheCallingThreadOnly() {
    Set<Thread> threads = ConcurrentHashMap.newKeySet();
    model.forward(ForwardRequest.of(seqs).withObserver(row -> threads.add(Thread.currentThread())));
    assertEquals(Set.of(Thread.currentThread()), threads);
  }

  @Test
  void aNonForkingObserverSeesEveryRowLayerByLayerInOrder() {
    // the engine overlaps layers across sequences; the rows must still arrive as layer-by-layer passes
    List<String> seen = new java.util.ArrayList<>();
    model.forward(ForwardRequest.of(seqs).withObserver(
        row -> seen.add(row.layer() + "/" + row.sequence() + "/" + row.head() + "/" + row.row())));
    List<String> expected = new java.util.ArrayList<>();
    for (int l = 0; l < model.info().numLayers(); l++) {
      for (int s = 0; s < seqs.size(); s++) {
        for (int hd = 0; hd < model.info().numHeads(); hd++) {
          for (int i = 0; i < seqs.get(s).length; i++) {
            expected.add(l + "/" + s + "/" + hd + "/" + i);
          }
        }
      }
    }
    assertEquals(expected, seen);
  }

  @Test
  void anObserverLeavesTheHiddenStatesBitForBitUnchanged() {
    // the per-sequence dataflow with a serial capture kernel, without one, and the layer-by-layer
    // passes (taken when the attention output error is measured)
    ForwardResult plain = model.forward(ForwardRequest.of(seqs).withHidden(true));
    ForwardResult captured = model.forward(ForwardRequest.of(seqs).withHidden(true).withObserver(row -> { }));
    ForwardResult layered = model.forward(ForwardRequest.of(seqs).withHidden(true).withAttentionError(true));
    for (int s = 0; s < seqs.size(); s++) {
      for (ForwardResult other : List.of(captured, layered)) {
        assertArrayEquals(plain.sequences().get(s).hidden(), other.sequences().get(s).hidden(),
            "sequence " + s);
        assertArrayEquals(plain.sequences().get(s).pooled(), other.sequences().get(s).pooled(),
            "sequence " + s);
      }
    }
  }

  /**
   * A calibration state forks onto the engine's second thread; the merged statistics are those of one
   * observer that saw every row on one thread (a lambda, which does not fork), for the plain observer and
   * for a top-k-at-calibration pass, and again on the next forward pass, which reuses the cleared fork.
   */
  @Test
  void statisticsForkedOntoTheEngineThreadsEqualOneObserverSeeingEveryRow() {
    withEngineThreads("2", () -> {
      try (TransformerModel twoThreads = Models.load(Models.DEFAULT_ID)) {
        CalibrationConfig c = CalibrationConfig.defaults().withPlacements(Placement.PRE_SOFTMAX,
            Placement.POST_SOFTMAX);
        CalibrationState forked = new CalibrationState(CalibrationGeometry.of(twoThreads.info()), c);
        CalibrationState single = new CalibrationState(CalibrationGeometry.of(twoThreads.info()), c);
        Set<Thread> forkThreads = ConcurrentHashMap.newKeySet();
        Map<AttentionObserver, AttentionObserver> inner = new ConcurrentHashMap<>();
        // the state, with its forks noting the threads they are called on
        AttentionObserver watched = new AttentionObserver() {
          @Override
          public void onRow(AttentionRow row) {
            forked.onRow(row);
          }

          @Override
          public AttentionObserver fork() {
            AttentionObserver f = forked.fork();
            AttentionObserver noting = row -> {
              forkThreads.add(Thread.currentThread());
              f.onRow(row);
            };
            inner.put(noting, f);
            return noting;
          }

          @Override
          public void join(AttentionObserver fork) {
            forked.join(inner.remove(fork));
          }
        };
        for (int pass = 0; pass < 2; pass++) {
          twoThreads.forward(new ForwardRequest(seqs, AttentionMode.dense(), watched, false, false));
          twoThreads.forward(new ForwardRequest(seqs, AttentionMode.dense(), single::onRow, false, false));
          AttentionMode topK = AttentionMode.topK(32, Placement.POST_SOFTMAX);
          twoThreads.forward(new ForwardRequest(seqs, topK, forked.observerForK(32, Placement.POST_SOFTMAX),
              false, false));
          AttentionObserver singleK = single.observerForK(32, Placement.POST_SOFTMAX);
          twoThreads.forward(new ForwardRequest(seqs, topK, singleK::onRow, false, false));
          assertArrayEquals(single.serialize(), forked.serialize(), "after pass " + pass);
        }
        assertTrue(inner.isEmpty(), "every fork is joined");
        assertFalse(forkThreads.isEmpty(), "the engine forked the state");
        assertFalse(forkThreads.contains(Thread.currentThread()), "forks run on the engine's other thread");
      }
    });
  }

  @Test
  void buffersKeptFromEarlierForwardPassesCarryNothingIntoTheNext() {
    List<int[]> few = seqs.subList(0, 3);
    ForwardResult first = model.forward(ForwardRequest.of(few).withHidden(true));
    // a larger batch, a pruning mode and a smaller batch leave other contents in the kept buffers
    model.forward(ForwardRequest.of(seqs).withObserver(row -> { }));
    model.forward(ForwardRequest.of(seqs).withMode(new AttentionMode.TopK(2, true)));
    model.forward(ForwardRequest.of(List.of(seqs.get(4))));
    ForwardResult again = model.forward(ForwardRequest.of(few).withHidden(true));
    try (TransformerModel fresh = Models.load(Models.DEFAULT_ID)) {
      ForwardResult unused = fresh.forward(ForwardRequest.of(few).withHidden(true));
      for (int s = 0; s < few.size(); s++) {
        assertArrayEquals(first.sequences().get(s).hidden(), again.sequences().get(s).hidden(),
            "sequence " + s);
        assertArrayEquals(unused.sequences().get(s).hidden(), again.sequences().get(s).hidden(),
            "sequence " + s + " against an encoder with no kept buffers");
      }
    }
  }

  @Test
  void aSequenceGivesTheSameOutputAloneAsInAPaddedBatch() {
    ForwardResult batch = model.forward(ForwardRequest.of(seqs));
    for (int s : new int[] {0, 8, 23}) {
      float[] alone = model.forward(ForwardRequest.of(List.of(seqs.get(s)))).sequences().get(0).pooled();
      float[] inBatch = batch.sequences().get(s).pooled();
      for (int j = 0; j < alone.length; j++) {
        assertEquals(alone[j], inBatch[j], 1e-5, "sequence " + s + ", dim " + j);
      }
    }
  }

  @Test
  void concurrentForwardPassesGiveTheSameResults() throws Exception {
    float[] expected = model.forward(ForwardRequest.of(seqs)).sequences().get(5).pooled();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<ForwardResult>> futures = List.of(
          pool.submit(() -> model.forward(ForwardRequest.of(seqs))),
          pool.submit(() -> model.forward(ForwardRequest.of(seqs))));
      for (Future<ForwardResult> f : futures) {
        assertArrayEquals(expected, f.get().sequences().get(5).pooled());
      }
    } finally {
      pool.shutdown();
    }
  }

  @Test
  void anObserverFailureEndsTheForwardAndLeavesTheEncoderUsable() {
    float[] expected = model.forward(ForwardRequest.of(seqs)).sequences().get(5).pooled();
    long[] rows = {0};
    IllegalStateException thrown = assertTimeoutPreemptively(Duration.ofMinutes(2),
        () -> assertThrows(IllegalStateException.class,
            () -> model.forward(ForwardRequest.of(seqs).withObserver(row -> {
              if (++rows[0] == 5000) {
                throw new IllegalStateException("observer failed at row 5000");
              }
            }))));
    assertEquals("observer failed at row 5000", thrown.getMessage());
    float[] after = assertTimeoutPreemptively(Duration.ofMinutes(2),
        () -> model.forward(ForwardRequest.of(seqs).withObserver(row -> { })).sequences().get(5).pooled());
    assertArrayEquals(expected, after);
  }

  @Test
  void outOfVocabularyIdsAndEmptySequencesAreRejected() {
    String msg = assertThrows(IllegalArgumentException.class,
        () -> model.forward(ForwardRequest.of(List.of(new int[] {101, 40000, 102})))).getMessage();
    assertTrue(msg.contains("40000") && msg.contains("0..30521"), msg);
    msg = assertThrows(IllegalArgumentException.class,
        () -> model.forward(ForwardRequest.of(List.of(new int[0])))).getMessage();
    assertTrue(msg.contains("sequence 0") && msg.contains("empty"), msg);
  }

  @Test
  void attentionOutputErrorIsExactlyZeroForDenseAndForTopKWithKAtLeastTheLongestRow() {
    int longest = seqs.stream().mapToInt(q -> q.length).max().orElseThrow();
    int tokens = seqs.stream().mapToInt(q -> q.length).sum();
    for (AttentionMode mode : List.of(AttentionMode.dense(),
        AttentionMode.topK(longest))) {
      ForwardResult r = model.forward(ForwardRequest.of(seqs).withMode(mode).withAttentionError(true));
      for (int l = 0; l < model.info().numLayers(); l++) {
        assertEquals(tokens, r.attentionError().rows(l), "one row per token, layer " + l);
        assertEquals(0.0, r.attentionError().mean(l), mode + ", layer " + l);
      }
    }
  }

  @Test
  void attentionOutputErrorOfTopKIsPositiveAndLeavesTheSparseOutputsUnchanged() {
    AttentionMode mode = AttentionMode.topK(4);
    ForwardRequest req = ForwardRequest.of(seqs).withMode(mode).withHidden(true);
    ForwardResult plain = model.forward(req);
    ForwardResult measured = model.forward(req.withAttentionError(true));
    assertEquals(null, plain.attentionError());
    for (int s = 0; s < seqs.size(); s++) {
      assertArrayEquals(plain.sequences().get(s).hidden(), measured.sequences().get(s).hidden());
    }
    double[] perLayer = measured.attentionError().perLayerMean();
    for (int l = 0; l < perLayer.length; l++) {
      assertTrue(perLayer[l] > 1e-3 && perLayer[l] < 2, "layer " + l + ": " + perLayer[l]);
    }
  }

  @Test
  void aPassWithoutOutputsShowsTheSameRowsAndCountsAsAFullPass() {
    // one thread runs layer by layer, two run the per-sequence dataflow
    for (String threads : List.of("1", "2")) {
      withEngineThreads(threads, () -> {
        try (TransformerModel m = Models.load(Models.DEFAULT_ID)) {
          CalibrationConfig c = CalibrationConfig.defaults().withPlacements(Placement.PRE_SOFTMAX,
              Placement.POST_SOFTMAX);
          for (AttentionMode mode : List.of(AttentionMode.dense(), AttentionMode.topK(8),
              AttentionMode.topK(16, Placement.POST_SOFTMAX))) {
            String what = mode + ", " + threads + " threads";
            RowHash fullRows = new RowHash();
            RowHash onlyRows = new RowHash();
            ForwardResult full = m.forward(ForwardRequest.of(seqs).withMode(mode).withObserver(fullRows));
            ForwardResult only = m.forward(ForwardRequest.attentionOnly(seqs, mode, onlyRows));
            assertEquals(seqs.stream().mapToInt(q -> q.length).sum() * (long) m.info().numLayers()
                * m.info().numHeads(), fullRows.rows(), what);
            assertEquals(fullRows.rows(), onlyRows.rows(), what);
            assertEquals(fullRows.hash(), onlyRows.hash(), what);
            for (int l = 0; l < m.info().numLayers(); l++) {
              assertArrayEquals(full.stats().keptRowCounts(l), only.stats().keptRowCounts(l), what);
              assertEquals(full.stats().keptElements(l), only.stats().keptElements(l), what);
              assertEquals(full.stats().vRowsNeeded(l), only.stats().vRowsNeeded(l), what);
              assertEquals(full.stats().vRowsVisible(l), only.stats().vRowsVisible(l), what);
            }
            for (int s = 0; s < seqs.size(); s++) {
              assertEquals(seqs.get(s).length, only.sequences().get(s).length(), what);
              assertEquals(null, only.sequences().get(s).pooled(), what);
              assertEquals(null, only.sequences().get(s).hidden(), what);
            }
            // a forking observer: the calibration state
            CalibrationState fullState = new CalibrationState(CalibrationGeometry.of(m.info()), c);
            CalibrationState onlyState = new CalibrationState(CalibrationGeometry.of(m.info()), c);
            m.forward(ForwardRequest.of(seqs).withMode(mode).withObserver(fullState));
            m.forward(ForwardRequest.attentionOnly(seqs, mode, onlyState));
            assertArrayEquals(fullState.serialize(), onlyState.serialize(), what);
          }
        }
      });
    }
  }

  @Test
  void aRequestWithoutOutputsCannotAskForThem() {
    ForwardRequest only = ForwardRequest.attentionOnly(seqs, AttentionMode.dense(), null);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> only.withHidden(true));
    assertTrue(e.getMessage().contains("hidden states"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> only.withAttentionError(true));
    assertThrows(IllegalArgumentException.class, () -> ForwardRequest.of(seqs).withOutputs(false));
  }

  /** Runs body with the encoder's engine thread count ({@link BertEncoder#THREADS_PROPERTY}) set. */
  private static void withEngineThreads(String threads, Runnable body) {
    String before = System.setProperty(BertEncoder.THREADS_PROPERTY, threads);
    try {
      body.run();
    } finally {
      if (before == null) {
        System.clearProperty(BertEncoder.THREADS_PROPERTY);
      } else {
        System.setProperty(BertEncoder.THREADS_PROPERTY, before);
      }
    }
  }
}
