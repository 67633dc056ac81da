package io.thetacal.model.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.model.ForwardRequest;
import io.thetacal.model.TensorType;
import io.thetacal.model.WeightMatrix;
import io.thetacal.model.gguf.GgufFile;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaMappedWeightsTest {
  /** 27.7 M parameters; vocabulary and FFN width are not multiples of the tile height. */
  private static final LlamaConfig MEDIUM = new LlamaConfig(16000, 512, 1408, 4, 8, 2, 64, 64, 10000.0,
      1e-5, 512, RopeLayout.ADJACENT_PAIRS, false, false);
  private static final LlamaConfig LLAMA3_8B = new LlamaConfig(128256, 4096, 14336, 32, 32, 8, 128, 128,
      500000.0, 1e-5, 8192, RopeLayout.ADJACENT_PAIRS, false, false);

  @TempDir
  Path tmp;

  private static List<MemoryPoolMXBean> heapPools() {
    List<MemoryPoolMXBean> pools = new ArrayList<>();
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP && p.isValid()) {
        pools.add(p);
      }
    }
    return pools;
  }

  /** Used heap after full collections (the smallest of three readings). */
  private static long usedAfterGc() {
    long best = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      System.gc();
      best = Math.min(best, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }
    return best;
  }

  /** Resets the heap pools' peaks; {@link #peakSinceReset} then bounds the peak heap from above. */
  private static void resetPeaks() {
    heapPools().forEach(MemoryPoolMXBean::resetPeakUsage);
  }

  private static long peakSinceReset() {
    long sum = 0;
    for (MemoryPoolMXBean p : heapPools()) {
      sum += p.getPeakUsage().getUsed();
    }
    return sum;
  }

  private static int[] tokens(int n, int vocab, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = rnd.nextInt(vocab);
    }
    return t;
  }

  private static long storedBytes(LlamaWeights w) {
    long b = w.embedding().storedBytes() + (w.output() == w.embedding() ? 0 : w.output().storedBytes());
    for (LlamaWeights.Layer l : w.layers()) {
      b += l.wqkv().storedBytes() + l.wo().storedBytes() + l.wGateUp().storedBytes() + l.wDown().storedBytes();
    }
    return b;
  }

  @Test
  void loadingAndRunningF16AndQ8ModelsNeedsFarLessHeapThanFourBytesPerParameter() throws Exception {
    long floatBytes = 4 * MEDIUM.parameterCount();
    long scratch = 4L * Parallel.THREADS * Math.max(Parallel.TILE_FLOATS,
        Parallel.MIN_TILE_ROWS * MEDIUM.intermediateSize());
    int[] prompt = tokens(64, MEDIUM.vocabSize(), 3);
    for (TensorType type : List.of(TensorType.F16, TensorType.Q8_0)) {
      Path file = tmp.resolve("medium-" + type + ".gguf");
      long fileSize = new GgufModelWriter(MEDIUM, type).write(file, 11, 0.05);
      TensorType.halfToFloat(0);
      long base = usedAfterGc();
      resetPeaks();
      LlamaModel model = LlamaModels.load(file);
      long loadPeak = peakSinceReset() - base;
      long retained = usedAfterGc() - base;
      assertTrue(model.weights().output() instanceof WeightMatrix.Mapped);
      long stored = storedBytes(model.weights());
      assertTrue(stored < fileSize && stored > fileSize - (64 << 10),
          "the matrices are the file's bytes: " + stored + " of " + fileSize);
      resetPeaks();
      long before = usedAfterGc();
      float[] logits = model.forward(ForwardRequest.of(List.of(prompt))).sequences().get(0).logits();
      long runPeak = peakSinceReset() - before;
      boolean finite = Float.isFinite(logits[logits.length - 1]);
      logits = null;
      long retainedAfterRun = usedAfterGc() - base;
      String msg = type + ": file " + fileSize + " B, float32 weights would be " + floatBytes + " B; load peak "
          + loadPeak + " B, retained " + retained + " B; forward peak " + runPeak + " B, retained after "
          + retainedAfterRun + " B";
      System.out.println(msg);
      assertTrue(finite, msg);
      assertTrue(retained < floatBytes / 40, msg);
      assertTrue(loadPeak < floatBytes / 8, msg);
      assertTrue(retainedAfterRun < floatBytes / 40 + scratch, msg);
      // the forward's own garbage (activations, logits) is counted too until the next collection
      long logitsBytes = 4L * prompt.length * MEDIUM.vocabSize();
      assertTrue(runPeak < floatBytes / 4 + scratch + logitsBytes, msg);
    }
  }

  @Test
  void mappedTilesComputeTheSameLogitsAsTheDecodedMatricesOnTheHeap() throws Exception {
    Path file = tmp.resolve("medium-f16.gguf");
    new GgufModelWriter(MEDIUM, TensorType.F16).write(file, 5, 0.05);
    LlamaModel mapped = LlamaModels.load(file);
    LlamaWeights w = mapped.weights();
    List<LlamaWeights.Layer> layers = new ArrayList<>();
    for (LlamaWeights.Layer l : w.layers()) {
      layers.add(new LlamaWeights.Layer(l.attnNorm(), heap(l.wqkv()), null, heap(l.wo()), l.ffnNorm(),
          heap(l.wGateUp()), heap(l.wDown())));
    }
    LlamaModel onHeap = new LlamaModel(mapped.info(), mapped.config(),
        new LlamaWeights(heap(w.embedding()), layers, w.outputNorm(), heap(w.output())), null);
    ForwardRequest req = ForwardRequest.of(List.of(tokens(40, MEDIUM.vocabSize(), 9)));
    float[] a = mapped.forward(req).sequences().get(0).logits();
    float[] b = onHeap.forward(req).sequences().get(0).logits();
    double diff = Golden.maxAbsDiff(a, b);
    assertTrue(diff <= 1e-5, "max abs diff " + diff);
    int[] greedy = mapped.generateGreedy(new int[] {1, 2, 3}, 6);
    assertEquals(java.util.Arrays.toString(onHeap.generateGreedy(new int[] {1, 2, 3}, 6)),
        java.util.Arrays.toString(greedy));
  }

  private static WeightMatrix heap(WeightMatrix m) {
    return WeightMatrix.of(m.toFloats(), m.rows(), m.cols());
  }

  @Test
  void llama3_8bGeometryIsAccepted() {
    assertEquals(8_030_261_248L, LLAMA3_8B.parameterCount());
    // tiles of the 8B's products: 256 rows of 4096 and 73 rows of 14336, about 4 MB of floats each
    assertEquals(256, Parallel.tileRows(LLAMA3_8B.hiddenSize()));
    assertEquals(73, Parallel.tileRows(LLAMA3_8B.intermediateSize()));
    assertEquals(Parallel.MIN_TILE_ROWS, Parallel.tileRows(1 << 16));
  }

  @Test
  void llama3_8bShapedGgufLoadsFromTheMappingAndRuns() throws Exception {
    // One block of the real width (the other 31 are identical in shape), Q8_0, tied output: a sparse
    // file of 0.8 GB whose data are zeros, so every logit is exactly 0.
    LlamaConfig oneBlock = new LlamaConfig(LLAMA3_8B.vocabSize(), LLAMA3_8B.hiddenSize(),
        LLAMA3_8B.intermediateSize(), 1, 32, 8, 128, 128, 500000.0, 1e-5, 8192, RopeLayout.ADJACENT_PAIRS,
        true, false);
    Path file = tmp.resolve("llama3-8b-shape.gguf");
    long size = new GgufModelWriter(oneBlock, TensorType.Q8_0).writeSparse(file);
    assertTrue(Files.size(file) == size && size > 780_000_000L, "size " + size);
    long base = usedAfterGc();
    // not hashed: SHA-256 of the 0.8 GB would dominate the test's time
    LlamaModel model = LlamaModels.loadGguf(GgufFile.open(file), "sparse-file");
    long retained = usedAfterGc() - base;
    assertEquals(128256, model.info().vocabSize());
    assertEquals(TensorType.Q8_0.byteSize(128256L * 4096), model.weights().embedding().storedBytes());
    assertTrue(retained < 16L << 20, "retained heap " + retained);
    DecoderSession s = model.newSession(io.thetacal.attention.AttentionMode.dense(), null, null, 0);
    float[] logits = s.prefill(new int[] {128000, 128255});
    assertEquals(2 * 128256, logits.length);
    for (float v : logits) {
      assertEquals(0f, v);
    }
  }
}
