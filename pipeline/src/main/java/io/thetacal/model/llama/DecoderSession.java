package io.thetacal.model.llama;

import io.thetacal.attention.AttentionKernel;
import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionOutputError;
import io.thetacal.attention.AttentionStats;
import io.thetacal.model.Gemm;
import java.util.Arrays;

/**
 * Incremental causal decoding with a KV cache: {@link #prefill} a prompt as one batch, then
 * {@link #step} one token at a time. Each call runs every attention row through the
 * {@link AttentionKernel} (row index = absolute position, n = position + 1, or the sliding window's
 * {@link LlamaConfig#visibleKeys} with the row's first score belonging to key position + 1 - n) and records the V rows each
 * KV group needs (the union over the group's query heads). Not thread-safe.
 */
public final class DecoderSession {
  /** Outputs of one chunk of tokens: logits [T × vocab] and final normed hidden [T × hidden], if asked. */
  record Chunk(float[] logits, float[] hidden) {
  }

  /** Rows per causal block of the score and W·V products (skips the masked upper triangle). */
  private static final int CAUSAL_BLOCK = 64;

  private final LlamaModel model;
  private final LlamaConfig c;
  private final LlamaWeights w;
  private final AttentionMode mode;
  private final AttentionObserver observer;
  private final AttentionStats stats;
  private final int sequence;
  private final AttentionKernel[] kernels;
  /** Null unless the session measures its attention outputs against dense attention. */
  private final AttentionOutputError outputError;
  private final AttentionStats[] workerStats;
  private final float[][] kCache;
  private final float[][] vCache;
  private int capacity;
  private int position;

  /**
   * Upper bound, in bytes, of a session's KV cache once it holds {@code positions} tokens (at most the
   * model's maxPositions): K and V of every layer, 4 bytes per (position + 1 padding row, KV dimension).
   */
  public static long kvCacheBytesFor(LlamaConfig c, int positions) {
    long rows = Math.min(positions, c.maxPositions()) + 1L;
    return Math.multiplyExact(2L * 4 * c.numLayers() * c.kvDim(), rows);
  }

  /**
   * Upper bound, in bytes, of the per-group score scratch of one step over {@code t} new rows at
   * {@code n} visible keys: 4 bytes per (row, key), plus the kept masks (one bit per key) and r.
   */
  public static long scoreScratchBytesFor(int t, int n) {
    return Math.addExact(Math.multiplyExact(4L * t, n), 8L * t * ((n + 63) >>> 6) + 4L * t);
  }

  DecoderSession(LlamaModel model, AttentionMode mode, AttentionObserver observer, AttentionStats stats,
      int sequence) {
    this(model, mode, observer, stats, sequence, null);
  }

  /**
   * @param outputError when not null, every layer also computes dense attention from the same layer
   *     input and records the sparse attention output's error against it here
   */
  DecoderSession(LlamaModel model, AttentionMode mode, AttentionObserver observer, AttentionStats stats,
      int sequence, AttentionOutputError outputError) {
    this.model = model;
    this.c = model.config();
    this.w = model.weights();
    this.mode = mode;
    this.observer = observer == null ? AttentionObserver.NONE : observer;
    this.stats = stats;
    this.sequence = sequence;
    // Capture callbacks stay on one thread; native BLAS must not be entered from several threads at once
    // (OpenBLAS's own threads then contend and small GEMMs slow down by orders of magnitude).
    int workers = this.observer.enabled() || Parallel.NATIVE_BLAS ? 1
        : Math.min(Parallel.THREADS, c.numKvHeads());
    kernels = new AttentionKernel[workers];
    workerStats = new AttentionStats[workers];
    for (int i = 0; i < workers; i++) {
      workerStats[i] = stats == null ? null : i == 0 ? stats : new AttentionStats(c.numLayers());
      kernels[i] = new AttentionKernel(mode, this.observer, workerStats[i]);
    }
    this.outputError = outputError;
    kCache = new float[c.numLayers()][];
    vCache = new float[c.numLayers()][];
  }

  /** Tokens processed so far (the next token's position). */
  public int position() {
    return position;
  }

  /** Processes a prompt (continuing after what was processed before); returns logits [T × vocab]. */
  public float[] prefill(int[] tokens) {
    return run(tokens, true, false, false).logits();
  }

  /** Processes one token; returns its next-token logits [vocab]. */
  public float[] step(int token) {
    return run(new int[] {token}, true, false, true).logits();
  }

  /**
   * Greedy continuation: prefill, then feed back the argmax (lowest id wins ties) {@code steps} times.
   *
   * @param stepLogits when not null, receives the logits each generated token was chosen from
   *     [steps × vocab]
   */
  public int[] generateGreedy(int[] prompt, int steps, float[] stepLogits) {
    int v = c.vocabSize();
    float[] logits = run(prompt, true, false, true).logits();
    int[] out = new int[steps];
    for (int s = 0; s < steps; s++) {
      out[s] = NextTokenStats.argmax(logits, 0, v);
      if (stepLogits != null) {
        System.arraycopy(logits, 0, stepLogits, s * v, v);
      }
      if (s + 1 < steps) {
        logits = step(out[s]);
      }
    }
    return out;
  }

  Chunk run(int[] tokens, boolean wantLogits, boolean wantHidden, boolean lastOnly) {
    return run(tokens, true, wantLogits, wantHidden, lastOnly);
  }

  /** Runs the tokens; without outputs, the last layer stops after its attention kernel. */
  Chunk run(int[] tokens, boolean outputs, boolean wantLogits, boolean wantHidden, boolean lastOnly) {
    int t = tokens.length;
    if (t == 0) {
      throw new IllegalArgumentException("sequence " + sequence + " is empty; it needs at least one token");
    }
    if (position + t > c.maxPositions()) {
      throw new IllegalArgumentException("sequence " + sequence + " would reach " + (position + t)
          + " tokens but the model's context length is " + c.maxPositions());
    }
    for (int i = 0; i < t; i++) {
      if (tokens[i] < 0 || tokens[i] >= c.vocabSize()) {
        throw new IllegalArgumentException("token " + i + " of sequence " + sequence + " is " + tokens[i]
            + " but must be in [0, " + c.vocabSize() + ")");
      }
    }
    ensureCapacity(position + t);
    int d = c.hiddenSize();
    float[] x = new float[t * d];
    for (int i = 0; i < t; i++) {
      w.embedding().decodeRows(tokens[i], 1, x, i * d);
    }
    float[][] rope = ropeTables(t);
    int qkvW = c.qDim() + 2 * c.kvDim();
    float[] xn = new float[t * d];
    float[] qkv = new float[(t + 1) * qkvW];
    float[] attn = new float[(t + 1) * c.qDim()];
    float[] attnDense = outputError == null ? null : new float[(t + 1) * c.qDim()];
    int ffn = c.intermediateSize();
    float[] gu = new float[t * 2 * ffn];
    float[] act = new float[t * ffn];
    for (int l = 0; l < c.numLayers(); l++) {
      LlamaWeights.Layer lw = w.layers().get(l);
      rmsNorm(x, lw.attnNorm(), xn, t, d, c.rmsNormEps());
      Parallel.linear(t, qkvW, d, xn, 0, d, lw.wqkv(), 0f, qkv, 0, qkvW);
      if (lw.bqkv() != null) {
        for (int i = 0; i < t; i++) {
          for (int j = 0; j < qkvW; j++) {
            qkv[i * qkvW + j] += lw.bqkv()[j];
          }
        }
      }
      applyRope(qkv, t, qkvW, rope);
      appendKv(l, qkv, t, qkvW);
      // without outputs, the last layer ends with its attention kernel
      boolean output = outputs || l + 1 < c.numLayers();
      attention(l, qkv, t, qkvW, output ? attn : null, attnDense);
      if (!output) {
        break;
      }
      if (outputError != null) {
        outputError.record(l, attn, attnDense, 0, t, c.qDim(), c.qDim());
      }
      Parallel.linear(t, d, c.qDim(), attn, 0, c.qDim(), lw.wo(), 1f, x, 0, d);
      rmsNorm(x, lw.ffnNorm(), xn, t, d, c.rmsNormEps());
      Parallel.linear(t, 2 * ffn, d, xn, 0, d, lw.wGateUp(), 0f, gu, 0, 2 * ffn);
      Parallel.blocks(t, 16L * ffn, (from, to) -> {
        for (int i = from; i < to; i++) {
          int g0 = i * 2 * ffn;
          int a0 = i * ffn;
          for (int j = 0; j < ffn; j++) {
            float g = gu[g0 + j];
            act[a0 + j] = g / (1f + (float) Math.exp(-g)) * gu[g0 + ffn + j];
          }
        }
      });
      Parallel.linear(t, d, ffn, act, 0, ffn, lw.wDown(), 1f, x, 0, d);
    }
    position += t;
    if (!outputs) {
      return new Chunk(null, null);
    }
    int first = lastOnly ? t - 1 : 0;
    int rows = t - first;
    float[] hidden = new float[rows * d];
    rmsNorm(Arrays.copyOfRange(x, first * d, t * d), w.outputNorm(), hidden, rows, d, c.rmsNormEps());
    float[] logits = null;
    if (wantLogits) {
      if ((long) rows * c.vocabSize() > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("sequence " + sequence + ": logits of " + rows + " positions × "
            + c.vocabSize() + " tokens do not fit one array; request fewer positions per call");
      }
      logits = new float[rows * c.vocabSize()];
      Parallel.linear(rows, c.vocabSize(), d, hidden, 0, d, w.output(), 0f, logits, 0, c.vocabSize());
    }
    return new Chunk(logits, wantHidden ? hidden : null);
  }

  /** Strided operands are padded by one row: the BLAS bounds check assumes a full last row. */
  private void ensureCapacity(int needed) {
    if (needed <= capacity) {
      return;
    }
    int cap = Math.min(c.maxPositions(), Math.max(needed, capacity * 2));
    int kv = c.kvDim();
    for (int l = 0; l < c.numLayers(); l++) {
      kCache[l] = kCache[l] == null ? new float[(cap + 1) * kv] : Arrays.copyOf(kCache[l], (cap + 1) * kv);
      vCache[l] = vCache[l] == null ? new float[(cap + 1) * kv] : Arrays.copyOf(vCache[l], (cap + 1) * kv);
    }
    capacity = cap;
  }

  static void rmsNorm(float[] x, float[] weight, float[] out, int rows, int d, double eps) {
    for (int i = 0; i < rows; i++) {
      int o = i * d;
      double ss = 0;
      for (int j = 0; j < d; j++) {
        float v = x[o + j];
        ss += v * v;
      }
      float scale = (float) (1.0 / Math.sqrt(ss / d + eps));
      for (int j = 0; j < d; j++) {
        out[o + j] = x[o + j] * scale * weight[j];
      }
    }
  }

  /** cos and sin for each new token's position and each rotated pair: [2][t × ropeDim/2]. */
  private float[][] ropeTables(int t) {
    double[] inv = model.invFreq();
    int half = inv.length;
    float[] cos = new float[t * half];
    float[] sin = new float[t * half];
    for (int i = 0; i < t; i++) {
      int pos = position + i;
      for (int p = 0; p < half; p++) {
        double angle = pos * inv[p];
        cos[i * half + p] = (float) Math.cos(angle);
        sin[i * half + p] = (float) Math.sin(angle);
      }
    }
    return new float[][] {cos, sin};
  }

  private void applyRope(float[] qkv, int t, int stride, float[][] rope) {
    int hd = c.headDim();
    int heads = c.numHeads() + c.numKvHeads();
    int half = c.ropeDim() / 2;
    boolean adjacent = c.ropeLayout() == RopeLayout.ADJACENT_PAIRS;
    float[] cos = rope[0];
    float[] sin = rope[1];
    for (int i = 0; i < t; i++) {
      for (int h = 0; h < heads; h++) {
        int base = i * stride + h * hd;
        for (int p = 0; p < half; p++) {
          int a = adjacent ? base + 2 * p : base + p;
          int b = adjacent ? a + 1 : a + half;
          float cs = cos[i * half + p];
          float sn = sin[i * half + p];
          float x0 = qkv[a];
          float x1 = qkv[b];
          qkv[a] = x0 * cs - x1 * sn;
          qkv[b] = x0 * sn + x1 * cs;
        }
      }
    }
  }

  private void appendKv(int layer, float[] qkv, int t, int stride) {
    int kv = c.kvDim();
    int kOff = c.qDim();
    int vOff = kOff + kv;
    for (int i = 0; i < t; i++) {
      System.arraycopy(qkv, i * stride + kOff, kCache[layer], (position + i) * kv, kv);
      System.arraycopy(qkv, i * stride + vOff, vCache[layer], (position + i) * kv, kv);
    }
  }

  private void attention(int layer, float[] qkv, int t, int stride, float[] out, float[] outDense) {
    int groups = c.numKvHeads();
    int workers = kernels.length;
    if (workers == 1) {
      for (int g = 0; g < groups; g++) {
        attendGroup(layer, g, qkv, t, stride, out, outDense, kernels[0], workerStats[0]);
      }
      return;
    }
    Parallel.run(workers, p -> {
      for (int g = p; g < groups; g += workers) {
        attendGroup(layer, g, qkv, t, stride, out, outDense, kernels[p], workerStats[p]);
      }
    });
    if (stats != null) {
      for (int p = 1; p < workers; p++) {
        stats.merge(workerStats[p]);
        workerStats[p] = new AttentionStats(c.numLayers());
        kernels[p] = new AttentionKernel(mode, observer, workerStats[p]);
      }
    }
  }

  /**
   * All query heads of KV group g over the t new rows; when outDense is not null also their dense
   * attention outputs (same scores, same V) into it. With out null, the kernel rows only (observers and
   * counts), no outputs.
   */
  private void attendGroup(int layer, int g, float[] qkv, int t, int stride, float[] out, float[] outDense,
      AttentionKernel kernel, AttentionStats groupStats) {
    int hd = c.headDim();
    int kv = c.kvDim();
    int qd = c.qDim();
    int n = position + t;
    float[] k = kCache[layer];
    float[] v = vCache[layer];
    float[] scores = new float[t * n];
    float[] shadow = outDense == null ? null : new float[t * n];
    float[] r = new float[t];
    int words = (n + 63) >>> 6;
    long[] mask = groupStats == null ? null : new long[t * words];
    float scale = (float) (1.0 / Math.sqrt(hd));
    double[] vbar = null;
    for (int hi = 0; hi < c.groupSize(); hi++) {
      int h = g * c.groupSize() + hi;
      boolean anyR = false;
      // causal blocks of rows: block [r0, r1) only needs keys 0 .. position + r1 - 1
      for (int r0 = 0; r0 < t; r0 += CAUSAL_BLOCK) {
        int r1 = Math.min(t, r0 + CAUSAL_BLOCK);
        int keys = position + r1;
        Gemm.mulTransposed(r1 - r0, keys, hd, scale, qkv, r0 * stride + h * hd, stride, k, g * hd, kv, 0f,
            scores, r0 * n, n);
        for (int i = r0; i < r1; i++) {
          int p = position + i;
          int count = c.visibleKeys(p);
          int lo = p + 1 - count;
          int off = i * n;
          double ri = kernel.apply(layer, h, sequence, p, scores, off + lo, count, mask, i * words * 64 + lo,
              shadow, off + lo);
          r[i] = (float) ri;
          anyR |= ri != 0;
          if (lo > 0) {
            Arrays.fill(scores, off, off + lo, 0f);
            if (shadow != null) {
              Arrays.fill(shadow, off, off + lo, 0f);
            }
          }
          if (p + 1 < keys) {
            Arrays.fill(scores, off + p + 1, off + keys, 0f);
            if (shadow != null) {
              Arrays.fill(shadow, off + p + 1, off + keys, 0f);
            }
          }
        }
        if (out != null) {
          Gemm.mul(r1 - r0, hd, keys, 1f, scores, r0 * n, n, v, g * hd, kv, 0f, out, r0 * qd + h * hd, qd);
        }
        if (shadow != null) {
          Gemm.mul(r1 - r0, hd, keys, 1f, shadow, r0 * n, n, v, g * hd, kv, 0f, outDense, r0 * qd + h * hd,
              qd);
        }
      }
      if (anyR && out != null) {
        if (vbar == null) {
          vbar = visibleMeans(v, g, t);
        }
        for (int i = 0; i < t; i++) {
          if (r[i] != 0) {
            for (int e = 0; e < hd; e++) {
              out[i * qd + h * hd + e] += (float) (r[i] * vbar[i * hd + e]);
            }
          }
        }
      }
    }
    if (mask != null) {
      for (int i = 0; i < t; i++) {
        int needed = 0;
        for (int wi = 0; wi < words; wi++) {
          needed += Long.bitCount(mask[i * words + wi]);
        }
        groupStats.recordVRows(layer, needed, c.visibleKeys(position + i));
      }
    }
  }

  /** Means of the V rows of KV head g visible to each new row i (keys lo..position+i): [t × headDim]. */
  private double[] visibleMeans(float[] v, int g, int t) {
    int hd = c.headDim();
    int kv = c.kvDim();
    double[] sum = new double[hd];
    int lo = position + 1 - c.visibleKeys(position);
    for (int j = lo; j < position; j++) {
      for (int e = 0; e < hd; e++) {
        sum[e] += v[j * kv + g * hd + e];
      }
    }
    double[] out = new double[t * hd];
    for (int i = 0; i < t; i++) {
      int j = position + i;
      for (int e = 0; e < hd; e++) {
        sum[e] += v[j * kv + g * hd + e];
      }
      int count = c.visibleKeys(j);
      for (; lo < j + 1 - count; lo++) {
        for (int e = 0; e < hd; e++) {
          sum[e] -= v[lo * kv + g * hd + e];
        }
      }
      for (int e = 0; e < hd; e++) {
        out[i * hd + e] = sum[e] / count;
      }
    }
    return out;
  }
}
