package io.thetacal.model.bert;

import io.thetacal.attention.AttentionKernel;
import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionOutputError;
import io.thetacal.attention.AttentionStats;
import io.thetacal.model.Erf;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.Gemm;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.PackedGemm;
import io.thetacal.model.SequenceOutput;
import io.thetacal.model.TextTokenizer;
import io.thetacal.model.TransformerModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A BERT-family encoder forward pass in Java, with every attention row going through the shared
 * {@link AttentionKernel}. Sequences of a batch are packed back to back without padding: each sequence
 * attends only to its own tokens, which is exactly padding plus masking, so a row's n is the sequence
 * length. Projections use {@link PackedGemm} with weights packed once here when available (bias,
 * residual and GELU added in the product's own pass), otherwise {@link Gemm}; the per-head attention
 * products use PackedGemm's small-operand products (BLAS without 512-bit vectors). With several
 * threads the layers run as a dataflow per sequence (a sequence's next layer starts while others finish
 * this one); with one, layer by layer over the whole batch. Passes running at once share the threads.
 * An observer that does not fork gets every row on the calling thread, in layer-by-layer order.
 */
public final class BertEncoder implements TransformerModel {
  /** The largest per-layer score buffer one forward may hold: one Java float array. */
  public static final long MAX_SCORE_BUFFER_BYTES = 4L * (Integer.MAX_VALUE - 8);

  /**
   * Upper bound, in bytes, of the per-layer score buffer of one forward over {@code batch} sequences of
   * at most {@code maxLength} tokens: 4 bytes per (sequence, head, query, key). The buffer is reused by
   * every layer; the residual buffer beside it is 4 · batch · heads · maxLength bytes.
   */
  public static long scoreBufferBytesFor(int batch, int heads, int maxLength) {
    return Math.multiplyExact(4L * batch * heads, (long) maxLength * maxLength);
  }

  /**
   * System property overriding the number of threads forward passes use (shared by passes running at
   * once). Default: all cores, except when the BLAS is native and not limited to one thread per call
   * (OPENBLAS_NUM_THREADS is not 1): then 1, because the engine's threads on top of a threaded BLAS
   * oversubscribe the cores (measured 2-6x slower, docs/benchmarks.md).
   */
  public static final String THREADS_PROPERTY = "thetacal.encoder.threads";

  private final ModelInfo info;
  private final TextTokenizer tokenizer;
  private final BertWeights w;
  private final int threads;
  private final ForkJoinPool pool;
  /** Per layer: qkv, attnOut, ffnIn, ffnOut packed for {@link PackedGemm}, or nulls (BLAS). */
  private final PackedGemm[][] packed;
  /** Whether every projection of every layer is packed (what the per-sequence dataflow needs). */
  private final boolean allPacked;
  /** Buffers of finished forward passes, taken by the next ones (one per concurrent caller at most). */
  private final ConcurrentLinkedQueue<Workspace> idle = new ConcurrentLinkedQueue<>();
  /** Forward passes running now. */
  private final AtomicInteger inFlight = new AtomicInteger();

  /**
   * The activation and score buffers of one forward pass, kept for the next: a batch of 8 × 128 tokens
   * of a small encoder needs about 22 MB of them, which the collector would otherwise allocate and clear
   * as humongous arrays every batch. Buffers above {@link #MAX_KEPT_FLOATS} are not kept. Every buffer
   * is fully written before it is read, so no state leaks from one forward pass into the next.
   */
  private static final class Workspace {
    static final int X = 0;
    static final int QKV = 1;
    static final int CTX = 2;
    static final int X1 = 3;
    static final int INTER = 4;
    static final int SCORES = 5;
    static final int RESIDUAL = 6;
    /** 64 MB per buffer. */
    static final int MAX_KEPT_FLOATS = 16 << 20;
    private final float[][] kept = new float[RESIDUAL + 1][];

    /** A buffer of at least {@code size} floats for {@code slot}. */
    float[] get(int slot, int size) {
      float[] a = kept[slot];
      if (a != null && a.length >= size) {
        return a;
      }
      a = new float[size];
      kept[slot] = size <= MAX_KEPT_FLOATS ? a : null;
      return a;
    }
  }

  public BertEncoder(ModelInfo info, TextTokenizer tokenizer, BertWeights weights) {
    this.info = Objects.requireNonNull(info, "info");
    this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    this.w = Objects.requireNonNull(weights, "weights");
    boolean threadedBlas = Gemm.implementation().contains("JNI")
        && !"1".equals(System.getenv("OPENBLAS_NUM_THREADS"));
    int t = Integer.getInteger(THREADS_PROPERTY,
        threadedBlas ? 1 : Runtime.getRuntime().availableProcessors());
    if (t <= 0) {
      throw new IllegalArgumentException("'" + THREADS_PROPERTY + "' is set to " + t + " but must be > 0");
    }
    this.threads = t;
    this.pool = t > 1 ? new ForkJoinPool(t - 1, p -> {
      var th = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
      th.setDaemon(true);
      th.setName("thetacal-encoder-" + th.getPoolIndex());
      return th;
    }, null, false) : null;
    int h = w.hiddenSize();
    int f = w.intermediateSize();
    packed = new PackedGemm[w.layers().size()][];
    for (int l = 0; l < packed.length; l++) {
      BertWeights.Layer lw = w.layers().get(l);
      packed[l] = new PackedGemm[] {PackedGemm.packOrNull(lw.qkv(), h, 3 * h),
          PackedGemm.packOrNull(lw.attnOut(), h, h), PackedGemm.packOrNull(lw.ffnIn(), h, f),
          PackedGemm.packOrNull(lw.ffnOut(), f, h)};
    }
    allPacked = Arrays.stream(packed).flatMap(Arrays::stream).allMatch(Objects::nonNull);
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  @Override
  public TextTokenizer tokenizer() {
    return tokenizer;
  }

  public BertWeights weights() {
    return w;
  }

  /** Threads one forward pass uses. */
  public int threads() {
    return threads;
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdown();
    }
    tokenizer.close();
  }

  /**
   * Runs body(p) for p in 0..parts-1, part 0 on the calling thread. A part the pool has not started by
   * the time the calling thread is through part 0 runs on the calling thread too: with several callers
   * sharing the encoder, the pool's threads may be busy with another caller's parts, and waiting for
   * them would stall this one.
   */
  private void parallel(int parts, IntConsumer body) {
    if (parts <= 1 || pool == null) {
      for (int p = 0; p < parts; p++) {
        body.accept(p);
      }
      return;
    }
    AtomicIntegerArray started = new AtomicIntegerArray(parts);
    List<ForkJoinTask<?>> tasks = new ArrayList<>(parts - 1);
    for (int p = 1; p < parts; p++) {
      int part = p;
      tasks.add(pool.submit(() -> {
        if (started.compareAndSet(part, 0, 1)) {
          body.accept(part);
        }
      }));
    }
    RuntimeException failure = null;
    try {
      body.accept(0);
    } catch (RuntimeException e) {
      failure = e;
    }
    for (int p = 1; p < parts; p++) {
      try {
        if (started.compareAndSet(p, 0, 1)) {
          if (failure == null) {
            body.accept(p);
          }
        } else {
          tasks.get(p - 1).join();
        }
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /**
   * y[rows×out] = x[rows×in] · W + b (+ residual), then GELU when {@code gelu}, split by rows across
   * threads. Packed weights add bias, residual and the exact GELU in the product's own pass; returns
   * whether GELU was applied (otherwise the caller runs {@link #gelu}).
   */
  private boolean linear(int threads, float[] x, int rows, int in, float[] wt, PackedGemm pw, float[] bias,
      int out, float[] y, int ldy, float[] residual, boolean gelu) {
    int parts = Math.min(threads, Math.max(1, rows / 16));
    boolean fused = pw != null && (!gelu || w.geluErf());
    parallel(parts, p -> {
      int r0 = (int) ((long) rows * p / parts);
      int r1 = (int) ((long) rows * (p + 1) / parts);
      if (r1 <= r0) {
        return;
      }
      if (fused) {
        pw.mulBias(r1 - r0, x, r0 * in, in, bias, residual, r0 * out, out, gelu, y, r0 * ldy, ldy);
        return;
      }
      for (int r = r0; r < r1; r++) {
        int o = r * ldy;
        if (residual != null) {
          for (int j = 0; j < out; j++) {
            y[o + j] = bias[j] + residual[r * out + j];
          }
        } else {
          System.arraycopy(bias, 0, y, o, out);
        }
      }
      if (pw != null) {
        pw.mulAdd(r1 - r0, x, r0 * in, in, y, r0 * ldy, ldy);
      } else {
        Gemm.mul(r1 - r0, out, in, 1f, x, r0 * in, in, wt, 0, out, 1f, y, r0 * ldy, ldy);
      }
    });
    return fused && gelu;
  }

  private void layerNorm(int threads, float[] x, int rows, BertWeights.Norm norm) {
    int h = w.hiddenSize();
    int parts = Math.min(threads, Math.max(1, rows / 16));
    parallel(parts, p -> {
      int r1 = (int) ((long) rows * (p + 1) / parts);
      for (int r = (int) ((long) rows * p / parts); r < r1; r++) {
        LayerNormRow.apply(x, r * h, h, norm.gamma(), norm.beta(), norm.eps());
      }
    });
  }

  private void gelu(int threads, float[] x, int count) {
    int parts = Math.min(threads, Math.max(1, count / 4096));
    parallel(parts,
        p -> geluRange(x, (int) ((long) count * p / parts), (int) ((long) count * (p + 1) / parts)));
  }

  private void geluRange(float[] x, int e0, int e1) {
    if (w.geluErf()) {
      for (int i = e0; i < e1; i++) {
        x[i] = Erf.gelu(x[i]);
      }
    } else {
      for (int i = e0; i < e1; i++) {
        float v = x[i];
        x[i] = (float) (0.5 * v * (1.0 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
      }
    }
  }

  /**
   * Everything of a layer after attention, for rows [r0, r1) on the calling thread: output projection
   * with residual, LayerNorm, FFN with GELU, residual, LayerNorm. Rows are independent and each element
   * is summed in the same order as in the whole-batch passes, so the bits do not depend on the split.
   */
  private void postAttention(BertWeights.Layer lw, PackedGemm[] pl, int r0, int r1, float[] ctx, float[] x,
      float[] x1, float[] inter) {
    int h = w.hiddenSize();
    int f = w.intermediateSize();
    int m = r1 - r0;
    pl[1].mulBias(m, ctx, r0 * h, h, lw.attnOutBias(), x, r0 * h, h, false, x1, r0 * h, h);
    for (int r = r0; r < r1; r++) {
      LayerNormRow.apply(x1, r * h, h, lw.attnNorm().gamma(), lw.attnNorm().beta(), lw.attnNorm().eps());
    }
    boolean erf = w.geluErf();
    pl[2].mulBias(m, x1, r0 * h, h, lw.ffnInBias(), null, 0, 0, erf, inter, r0 * f, f);
    if (!erf) {
      geluRange(inter, r0 * f, r1 * f);
    }
    pl[3].mulBias(m, inter, r0 * f, f, lw.ffnOutBias(), x1, r0 * h, h, false, x, r0 * h, h);
    for (int r = r0; r < r1; r++) {
      LayerNormRow.apply(x, r * h, h, lw.ffnNorm().gamma(), lw.ffnNorm().beta(), lw.ffnNorm().eps());
    }
  }

  /** One step of one layer for one sequence. */
  private interface SequenceStep {
    void run(int layer, int sequence);
  }

  @Override
  public ForwardResult forward(ForwardRequest request) {
    Workspace ws = idle.poll();
    if (ws == null) {
      ws = new Workspace();
    }
    // callers at once share the cores: two passes of two threads each on two cores would contend
    int callers = inFlight.incrementAndGet();
    try {
      return forward(request, ws, Math.max(1, threads / callers));
    } finally {
      inFlight.decrementAndGet();
      idle.offer(ws);
    }
  }

  private ForwardResult forward(ForwardRequest request, Workspace ws, int threads) {
    List<int[]> seqs = request.sequences();
    int b = seqs.size();
    int h = w.hiddenSize();
    int[] len = new int[b];
    int[] start = new int[b + 1];
    for (int s = 0; s < b; s++) {
      int[] ids = seqs.get(s);
      if (ids.length == 0) {
        throw new IllegalArgumentException("sequence " + s + " of the batch is empty");
      }
      if (ids.length > w.maxPositions()) {
        throw new IllegalArgumentException("sequence " + s + " has " + ids.length
            + " tokens but the model accepts at most " + w.maxPositions()
            + " (truncate or split it, see TextEncoding)");
      }
      for (int id : ids) {
        if (id < 0 || id >= w.vocabSize()) {
          throw new IllegalArgumentException("sequence " + s + " holds token id " + id
              + " outside the vocabulary 0.." + (w.vocabSize() - 1));
        }
      }
      len[s] = ids.length;
      start[s + 1] = start[s] + ids.length;
    }
    int total = start[b];
    AttentionStats stats = new AttentionStats(w.layers().size());
    if (total == 0) {
      return new ForwardResult(List.of(), stats);
    }
    float[] x = ws.get(Workspace.X, total * h);
    AttentionOutputError outputError =
        request.wantAttentionError() ? new AttentionOutputError(w.layers().size()) : null;
    Attention att = new Attention(threads, request.mode(), request.observer(), len, start, stats,
        outputError != null, ws);
    SequenceOutput[] outs = new SequenceOutput[b];
    try {
      // One spare row: BLAS bounds checks cover a strided operand's full last stride.
      float[] qkv = ws.get(Workspace.QKV, (total + 1) * att.ldq);
      float[] ctx = ws.get(Workspace.CTX, total * h);
      float[] ctxDense = outputError != null ? new float[total * h] : null;
      float[] x1 = ws.get(Workspace.X1, total * h);
      float[] inter = ws.get(Workspace.INTER, total * w.intermediateSize());
      boolean dataflow = att.flowsPerSequence(ctxDense) && allPacked;
      int layers = w.layers().size();
      // without outputs, the last layer ends with its attention kernel
      boolean lastOutput = request.wantOutputs();
      if (dataflow) {
        // each sequence's embeddings start its first task and its pooling ends its last
        att.runLayers(qkv, ctx, lastOutput,
            (l, s) -> {
              if (l == 0) {
                embed(seqs.get(s), x, start[s]);
              }
              packed[l][0].mulBias(len[s], x, start[s] * h, h, w.layers().get(l).qkvBias(), null, 0, 0, false,
                  qkv, start[s] * att.ldq, att.ldq);
            },
            (l, s) -> {
              postAttention(w.layers().get(l), packed[l], start[s], start[s + 1], ctx, x, x1, inter);
              if (l == layers - 1) {
                outs[s] = sequenceOutput(request, x, start[s], len[s]);
              }
            });
      } else {
        int parts = Math.min(threads, b);
        parallel(parts, p -> {
          for (int s = p; s < b; s += parts) {
            embed(seqs.get(s), x, start[s]);
          }
        });
      }
      for (int l = 0; l < layers && !dataflow; l++) {
        BertWeights.Layer lw = w.layers().get(l);
        PackedGemm[] pl = packed[l];
        linear(threads, x, total, h, lw.qkv(), pl[0], lw.qkvBias(), 3 * h, qkv, att.ldq, null, false);
        boolean output = lastOutput || l + 1 < layers;
        att.run(l, qkv, ctx, ctxDense, output);
        if (!output) {
          break;
        }
        if (outputError != null) {
          outputError.record(l, ctx, ctxDense, 0, total, h, h);
        }
        linear(threads, ctx, total, h, lw.attnOut(), pl[1], lw.attnOutBias(), h, x1, h, x, false);
        layerNorm(threads, x1, total, lw.attnNorm());
        int f = w.intermediateSize();
        if (!linear(threads, x1, total, h, lw.ffnIn(), pl[2], lw.ffnInBias(), f, inter, f, null, true)) {
          gelu(threads, inter, total * f);
        }
        linear(threads, inter, total, f, lw.ffnOut(), pl[3], lw.ffnOutBias(), h, x, h, x1, false);
        layerNorm(threads, x, total, lw.ffnNorm());
      }
    } finally {
      att.joinForks();
    }

    for (int s = 0; s < b; s++) {
      if (outs[s] == null) {
        outs[s] = sequenceOutput(request, x, start[s], len[s]);
      }
    }
    return new ForwardResult(List.of(outs), stats, outputError);
  }

  /** The embeddings of one sequence's tokens into its rows of x, layer-normed. */
  private void embed(int[] ids, float[] x, int first) {
    int h = w.hiddenSize();
    BertWeights.Norm norm = w.embeddingNorm();
    for (int t = 0; t < ids.length; t++) {
      int o = (first + t) * h;
      int wo = ids[t] * h;
      int po = t * h;
      for (int j = 0; j < h; j++) {
        x[o + j] = w.wordEmbeddings()[wo + j] + w.tokenTypeEmbedding()[j] + w.positionEmbeddings()[po + j];
      }
      LayerNormRow.apply(x, o, h, norm.gamma(), norm.beta(), norm.eps());
    }
  }

  /** What the request asks of one sequence whose final hidden states are rows [first, first + n) of x. */
  private SequenceOutput sequenceOutput(ForwardRequest request, float[] x, int first, int n) {
    if (!request.wantOutputs()) {
      return new SequenceOutput(n, null, null, null);
    }
    int h = w.hiddenSize();
    float[] pooled = new float[h];
    double[] acc = new double[h];
    for (int t = first; t < first + n; t++) {
      for (int j = 0; j < h; j++) {
        acc[j] += x[t * h + j];
      }
    }
    for (int j = 0; j < h; j++) {
      pooled[j] = (float) (acc[j] / n);
    }
    float[] hidden = null;
    if (request.wantHidden()) {
      hidden = new float[n * h];
      System.arraycopy(x, first * h, hidden, 0, hidden.length);
    }
    return new SequenceOutput(n, hidden, pooled, null);
  }

  /**
   * Attention of one forward pass: per (sequence, head) block, scores = Q·Kᵀ·scale, the kernel per
   * row, then output = W·V + r·v̄. Buffers hold one layer of each sequence. When the attention output
   * error is measured, the kernel phase also writes dense weights of the same scores to a second buffer,
   * and the output phase multiplies them with the same V into the dense attention output.
   */
  private final class Attention {
    private final AttentionMode mode;
    private final AttentionObserver observer;
    private final int[] len;
    private final int[] start;
    private final AttentionStats stats;
    private final int heads = w.numHeads();
    private final int dh = w.headDim();
    private final int h = w.hiddenSize();
    /**
     * Row stride of the Q|K|V buffer: 16 floats past its 3 · hidden values, so that the rows of a head's
     * K and V, read column block by column block, fall in different L1 sets (at 3 · 384 floats, 4608
     * bytes, every row maps to the same 8 of 64 sets, and the products reread V from L2 per row tile).
     */
    final int ldq = 3 * h + 16;
    /** Blocks ordered (sequence, head); offset of each block's n×n scores in {@link #scores}. */
    private final int[] blockOffset;
    private final float[] scores;
    /** Dense weights of the same scores, when the attention output error is measured; else null. */
    private final float[] shadow;
    /** Per block row: the V-mean coefficient r returned by the kernel. */
    private final int[] rowOffset;
    private final float[] residual;
    private final boolean serialKernel;
    /** Per part, the observer's forks that take the rows of other threads; null when rows stay on one. */
    private final AttentionObserver[] forks;
    private final AttentionKernel[] kernels;
    private final AttentionStats[] partStats;
    private final int parts;

    Attention(int threads, AttentionMode mode, AttentionObserver observer, int[] len, int[] start,
        AttentionStats stats, boolean denseShadow, Workspace ws) {
      this.mode = mode;
      this.observer = observer;
      this.len = len;
      this.start = start;
      this.stats = stats;
      int blocks = len.length * heads;
      long need = 0;
      for (int n : len) {
        need += 4L * heads * n * n;
      }
      if (need > MAX_SCORE_BUFFER_BYTES) {
        throw new IllegalArgumentException("a batch of " + len.length + " sequences needs a " + need
            + "-byte attention score buffer, more than the " + MAX_SCORE_BUFFER_BYTES + " one forward can"
            + " hold; lower 'model.batch_size' or 'model.max_sequence_length'");
      }
      blockOffset = new int[blocks + 1];
      rowOffset = new int[blocks + 1];
      for (int s = 0; s < len.length; s++) {
        for (int hd = 0; hd < heads; hd++) {
          int bl = s * heads + hd;
          blockOffset[bl + 1] = Math.addExact(blockOffset[bl], len[s] * len[s]);
          rowOffset[bl + 1] = rowOffset[bl] + len[s];
        }
      }
      scores = ws.get(Workspace.SCORES, blockOffset[blocks]);
      shadow = denseShadow ? new float[blockOffset[blocks]] : null;
      residual = ws.get(Workspace.RESIDUAL, rowOffset[blocks]);
      parts = Math.min(threads, blocks);
      forks = observer.enabled() && parts > 1 ? forks(observer, parts) : null;
      serialKernel = observer.enabled() && forks == null;
      kernels = new AttentionKernel[serialKernel ? 1 : parts];
      partStats = new AttentionStats[kernels.length];
      for (int p = 0; p < kernels.length; p++) {
        partStats[p] = p == 0 ? stats : new AttentionStats(stats.numLayers());
        kernels[p] = new AttentionKernel(mode, forks == null ? observer : forks[p], partStats[p]);
      }
    }

    /** The observer for each part (part 0: the observer itself), or null when it does not fork. */
    private static AttentionObserver[] forks(AttentionObserver observer, int parts) {
      AttentionObserver[] f = new AttentionObserver[parts];
      f[0] = observer;
      for (int p = 1; p < parts; p++) {
        f[p] = observer.fork();
        if (f[p] == null) {
          for (int q = 1; q < p; q++) {
            observer.join(f[q]);
          }
          return null;
        }
      }
      return f;
    }

    /** Hands the forks' rows back to the observer; call once, after the last layer (or a failure). */
    void joinForks() {
      if (forks != null) {
        for (int p = 1; p < forks.length; p++) {
          observer.join(forks[p]);
        }
      }
    }

    /**
     * Whether the layers run as {@link #runLayers}: no dense twin, several threads, and at least one
     * sequence per thread (a sequence's steps run on one thread at a time). One thread runs whole-batch
     * products instead, which measured faster than per-sequence ones without the overlap.
     */
    boolean flowsPerSequence(float[] ctxDense) {
      return ctxDense == null && parts > 1 && len.length >= parts;
    }

    /** Attention of one layer into ctx; without output, scores and kernel rows only. */
    void run(int layer, float[] qkv, float[] ctx, float[] ctxDense, boolean output) {
      int blocks = len.length * heads;
      // Three phases over all (sequence, head) blocks: score products, the per-row kernel, output
      // products. Phased runs measured faster than one fused pass per block.
      parallel(parts, p -> {
        for (int bl = p; bl < blocks; bl += parts) {
          scores(bl, qkv);
        }
      });
      if (serialKernel) {
        for (int bl = 0; bl < blocks; bl++) {
          kernelRows(kernels[0], layer, bl);
        }
      } else {
        parallel(parts, p -> {
          for (int bl = p; bl < blocks; bl += parts) {
            kernelRows(kernels[p], layer, bl);
          }
        });
      }
      if (output) {
        parallel(parts, p -> {
          for (int bl = p; bl < blocks; bl += parts) {
            output(bl, qkv, ctx);
            if (ctxDense != null) {
              denseOutput(bl, qkv, ctxDense);
            }
          }
        });
      }
      mergeStats(layer);
    }

    /**
     * Every layer of the batch as one dataflow per sequence. Task (l, s) is the rest of layer l − 1 for
     * sequence s ({@code post}), then layer l's projection ({@code project}) and, head by head, its score
     * products, kernel rows (with the thread's own kernel) and outputs, so that a head's scores are read
     * back while still in cache. A sequence's next layer thus starts while other sequences finish this
     * one, instead of every thread waiting for the layer's last sequence. A serial kernel (an observer
     * that does not fork) runs on the calling thread, (layer, sequence) by (layer, sequence) in order, so
     * capture callbacks come from one thread in the order of layer-by-layer passes; that thread runs
     * tasks while its next rows are not ready, and task (l, s) then starts with layer l − 1's outputs for
     * s. Rows are independent and summed in the same order, so the bits are those of the layer passes.
     */
    void runLayers(float[] qkv, float[] ctx, boolean lastOutput, SequenceStep project, SequenceStep post) {
      Flow flow = new Flow(qkv, ctx, lastOutput, project, post);
      parallel(parts, flow::run);
      mergeStats(stats.numLayers() - 1);
    }

    /** The state of one {@link #runLayers}: task (l, s) has index l · b + s. */
    private final class Flow {
      private final float[] qkv;
      private final float[] ctx;
      private final boolean lastOutput;
      private final SequenceStep project;
      private final SequenceStep post;
      private final int b = len.length;
      private final int layers = stats.numLayers();
      private final int tasks = (layers + 1) * b;
      private final AtomicInteger nextTask = new AtomicInteger();
      private final AtomicIntegerArray taskDone = new AtomicIntegerArray(tasks);
      /** Serial kernel items [0, kernelDone) are done; -1 once a thread has failed. */
      private final AtomicInteger kernelDone = new AtomicInteger();

      Flow(float[] qkv, float[] ctx, boolean lastOutput, SequenceStep project, SequenceStep post) {
        this.qkv = qkv;
        this.ctx = ctx;
        this.lastOutput = lastOutput;
        this.project = project;
        this.post = post;
      }

      void run(int p) {
        try {
          for (int item = 0; serialKernel && p == 0 && item < layers * b; item++) {
            for (int spins = 0; taskDone.get(item) == 0; ) {
              if (runReadyTask(p)) {
                spins = 0;
              } else if (!pause(spins++)) {
                return;
              }
            }
            int s = item % b;
            for (int hd = 0; hd < heads; hd++) {
              kernelRows(kernels[0], item / b, s * heads + hd);
            }
            if (!kernelDone.compareAndSet(item, item + 1)) {
              return;
            }
          }
          for (int spins = 0; nextTask.get() < tasks; ) {
            if (runReadyTask(p)) {
              spins = 0;
            } else if (!pause(spins++)) {
              return;
            }
          }
        } catch (RuntimeException | Error e) {
          kernelDone.set(-1);
          throw e;
        }
      }

      /**
       * Claims and runs the next task when what it needs of its sequence's previous layer is done;
       * false when there is none yet.
       */
      private boolean runReadyTask(int p) {
        int t = nextTask.get();
        if (t >= tasks || kernelDone.get() < 0) {
          return false;
        }
        boolean ready = t < b || (serialKernel ? kernelDone.get() > t - b : taskDone.get(t - b) == 1);
        if (!ready || !nextTask.compareAndSet(t, t + 1)) {
          return false;
        }
        int l = t / b;
        int s = t % b;
        if (l > 0 && (l < layers || lastOutput)) {
          for (int hd = 0; serialKernel && hd < heads; hd++) {
            output(s * heads + hd, qkv, ctx);
          }
          post.run(l - 1, s);
        }
        if (l < layers) {
          project.run(l, s);
          boolean output = l + 1 < layers || lastOutput;
          for (int bl = s * heads; bl < (s + 1) * heads; bl++) {
            scores(bl, qkv);
            if (!serialKernel) {
              kernelRows(kernels[p], l, bl);
              if (output) {
                output(bl, qkv, ctx);
              }
            }
          }
        }
        taskDone.set(t, 1);
        return true;
      }

      /** Waits a little; false once a thread has failed. */
      private boolean pause(int spins) {
        if (kernelDone.get() < 0) {
          return false;
        }
        if (spins < 200) {
          Thread.onSpinWait();
        } else {
          LockSupport.parkNanos(20_000);
        }
        return true;
      }
    }

    private void mergeStats(int layer) {
      if (layer == stats.numLayers() - 1) {
        for (int p = 1; p < partStats.length; p++) {
          stats.merge(partStats[p]);
        }
      }
    }

    private void scores(int bl, float[] qkv) {
      int s = bl / heads;
      int hd = bl % heads;
      int n = len[s];
      int base = start[s] * ldq;
      PackedGemm.mulTransposed(n, n, dh, w.attentionScale(), qkv, base + hd * dh, ldq, qkv,
          base + h + hd * dh, ldq, scores, blockOffset[bl], n);
    }

    private void kernelRows(AttentionKernel kernel, int layer, int bl) {
      int s = bl / heads;
      int hd = bl % heads;
      int n = len[s];
      long[] mask = new long[(n + 63) >>> 6];
      AttentionStats st = kernel.stats();
      for (int i = 0; i < n; i++) {
        Arrays.fill(mask, 0L);
        int off = blockOffset[bl] + i * n;
        residual[rowOffset[bl] + i] = (float) kernel.apply(layer, hd, s, i, scores, off, n, mask, 0,
            shadow, off);
        int needed = 0;
        for (long m : mask) {
          needed += Long.bitCount(m);
        }
        st.recordVRows(layer, needed, n);
      }
    }

    /** The dense twin of {@link #output}: dense weights have no V-mean term. */
    private void denseOutput(int bl, float[] qkv, float[] ctxDense) {
      int s = bl / heads;
      int hd = bl % heads;
      int n = len[s];
      PackedGemm.mul(n, dh, n, shadow, blockOffset[bl], n, qkv, start[s] * ldq + 2 * h + hd * dh, ldq,
          ctxDense, start[s] * h + hd * dh, h);
    }

    private void output(int bl, float[] qkv, float[] ctx) {
      int s = bl / heads;
      int hd = bl % heads;
      int n = len[s];
      int vOff = start[s] * ldq + 2 * h + hd * dh;
      int cOff = start[s] * h + hd * dh;
      PackedGemm.mul(n, dh, n, scores, blockOffset[bl], n, qkv, vOff, ldq, ctx, cOff, h);
      float[] vMean = null;
      for (int i = 0; i < n; i++) {
        float r = residual[rowOffset[bl] + i];
        if (r != 0f) {
          if (vMean == null) {
            vMean = new float[dh];
            for (int j = 0; j < n; j++) {
              for (int d = 0; d < dh; d++) {
                vMean[d] += qkv[vOff + j * ldq + d];
              }
            }
            for (int d = 0; d < dh; d++) {
              vMean[d] /= n;
            }
          }
          for (int d = 0; d < dh; d++) {
            ctx[cOff + i * h + d] += r * vMean[d];
          }
        }
      }
    }
  }
}
