package io.thetacal.attention;

import java.util.Objects;

/**
 * The per-row attention math, in one place for every model: dense softmax, exact top-k, and Top-θ with
 * its compensations. A row of scaled scores is turned, in place, into the weights w_j the output uses,
 * and the method returns the V-mean coefficient r, so that the attention output of the row is
 * {@code o = Σ_j w_j V_j + r · v̄}. Not thread-safe: use one kernel per thread.
 */
public final class AttentionKernel {
  private final AttentionMode mode;
  private final AttentionObserver observer;
  private final AttentionStats stats;
  private final AttentionRow view = new AttentionRow();
  private float[] exps = new float[64];
  private float[] scratch = new float[64];
  /** Positions of a row's kept keys, for top-k. */
  private int[] keptAt = new int[64];
  private final byte[] vectorScratch = new byte[RowMath.SCRATCH_BYTES];

  public AttentionKernel(AttentionMode mode, AttentionObserver observer, AttentionStats stats) {
    this.mode = Objects.requireNonNull(mode, "mode");
    this.observer = observer == null ? AttentionObserver.NONE : observer;
    this.stats = stats;
  }

  public AttentionMode mode() {
    return mode;
  }

  public AttentionStats stats() {
    return stats;
  }

  /**
   * Processes one row: scores {@code a[off .. off + n)} (scaled, only the n visible keys) are replaced by
   * the attention weights. Kept keys are OR-ed into {@code keptMask} from bit {@code maskBit} on, when
   * the mask is not null (for the union over a KV group's heads).
   *
   * @return the coefficient r of v̄ (0 unless V-mean compensation is on and mass was pruned)
   * @throws NonFiniteScoreException when a score is NaN or infinite
   */
  public double apply(int layer, int head, int sequence, int row, float[] a, int off, int n,
      long[] keptMask, int maskBit) {
    return apply(layer, head, sequence, row, a, off, n, keptMask, maskBit, null, 0);
  }

  /**
   * Like {@link #apply(int, int, int, int, float[], int, int, long[], int)}, and in addition, when
   * {@code dense} is not null, writes the dense softmax weights of the same row to
   * {@code dense[denseOff .. denseOff + n)}: the hook with which an engine computes the dense attention
   * output from the same layer input as the sparse one (see {@link AttentionOutputError}). The dense
   * weights are those a dense kernel would produce, bit for bit.
   */
  public double apply(int layer, int head, int sequence, int row, float[] a, int off, int n,
      long[] keptMask, int maskBit, float[] dense, int denseOff) {
    if (n <= 0) {
      throw new IllegalArgumentException("row " + row + " of layer " + layer + ", head " + head
          + " has " + n + " visible keys; it must have at least one");
    }
    if (exps.length < n) {
      exps = new float[Math.max(n, exps.length * 2)];
      scratch = new float[exps.length];
      keptAt = new int[exps.length];
    }
    float m = RowMath.maxIfFinite(a, off, n);
    if (Float.isNaN(m)) {
      for (int j = 0; j < n; j++) {
        if (!Float.isFinite(a[off + j])) {
          throw new NonFiniteScoreException(layer, head, row, j, a[off + j]);
        }
      }
    }
    double denom = RowMath.expShifted(a, off, n, m, exps, vectorScratch);
    float inv = (float) (1.0 / denom);
    if (dense != null) {
      RowMath.scale(exps, inv, dense, denseOff, n);
    }
    // exact top-k selects before the observer sees the row, which may then use the selection
    AttentionMode.TopK topK = mode instanceof AttentionMode.TopK tk && n > tk.k() ? tk : null;
    float kth = topK == null ? 0f : OrderStatistics.selectTopK(a, off, n, topK.k(), scratch);
    if (observer.enabled()) {
      view.selectedK = topK == null ? 0 : topK.k();
      view.selected = scratch;
      view.layer = layer;
      view.head = head;
      view.sequence = sequence;
      view.row = row;
      view.n = n;
      view.scores = a;
      view.offset = off;
      view.max = m;
      view.denominator = denom;
      observer.onRow(view);
    }

    int kept;
    double residual = 0;
    boolean thresholded;
    if (topK != null) {
      kept = applyTopK(a, off, n, topK.k(), kth, topK.renormalise(), inv, keptMask, maskBit);
      thresholded = true;
    } else if (mode instanceof AttentionMode.TopTheta tt && n > tt.k()) {
      thresholded = true;
      float theta = tt.table().threshold(layer, head, n, tt.k());
      if (tt.placement() == Placement.PRE_SOFTMAX) {
        kept = 0;
        double keptMass = 0;
        for (int j = 0; j < n; j++) {
          if (a[off + j] > theta) {
            kept++;
            keptMass += exps[j];
          }
        }
        if (kept == n) {
          dense(a, off, n, inv, keptMask, maskBit);
        } else {
          double missing = switch (tt.sdc()) {
            case NONE -> 0;
            case EXACT -> {
              double s = 0;
              for (int j = 0; j < n; j++) {
                if (!(a[off + j] > theta)) {
                  s += exps[j];
                }
              }
              yield s;
            }
            case EXP_THRESHOLD -> (n - kept) * Math.exp((double) theta - m);
            case OFFLINE -> tt.table().sdcMass(layer, head, n, tt.k());
          };
          double d = keptMass + tt.sdcScale() * missing;
          double sum = 0;
          for (int j = 0; j < n; j++) {
            if (a[off + j] > theta) {
              float w = (float) (exps[j] / d);
              a[off + j] = w;
              sum += w;
              mark(keptMask, maskBit + j);
            } else {
              a[off + j] = 0f;
            }
          }
          if (kept == 0) {
            sum = 0;
          }
          residual = tt.vmc() ? 1.0 - sum : 0;
        }
      } else {
        kept = 0;
        double sum = 0;
        for (int j = 0; j < n; j++) {
          if (exps[j] * inv > theta) {
            kept++;
          }
        }
        if (kept == n) {
          dense(a, off, n, inv, keptMask, maskBit);
        } else {
          for (int j = 0; j < n; j++) {
            float p = exps[j] * inv;
            if (p > theta) {
              a[off + j] = p;
              sum += p;
              mark(keptMask, maskBit + j);
            } else {
              a[off + j] = 0f;
            }
          }
          residual = tt.vmc() ? 1.0 - sum : 0;
        }
      }
    } else {
      dense(a, off, n, inv, keptMask, maskBit);
      kept = n;
      thresholded = false;
    }
    if (stats != null) {
      stats.recordRow(layer, head, n, kept, thresholded);
    }
    return residual;
  }

  /** Dense weights p_j = e^{a_j - m} · (1 / D); every key is kept. */
  private void dense(float[] a, int off, int n, float inv, long[] keptMask, int maskBit) {
    RowMath.scale(exps, inv, a, off, n);
    if (keptMask != null) {
      markRange(keptMask, maskBit, n);
    }
  }

  private static void markRange(long[] mask, int from, int count) {
    int end = from + count;
    int i = from;
    while (i < end) {
      int word = i >>> 6;
      int bit = i & 63;
      int take = Math.min(64 - bit, end - i);
      long bits = take == 64 ? -1L : ((1L << take) - 1) << bit;
      mask[word] |= bits;
      i += take;
    }
  }

  /**
   * Keeps the k largest scores, given t, the k-th largest, and the row's selection in {@link #scratch}
   * ({@link OrderStatistics#selectTopK}); their weights are e_j / Σ_kept e when renormalised, else
   * e_j · inv, the dense probabilities (as post-softmax Top-θ keeps them).
   */
  private int applyTopK(float[] a, int off, int n, int k, float t, boolean renormalise, float inv,
      long[] keptMask, int maskBit) {
    // the kept keys in ascending position, without branches on the scores
    int[] at = keptAt;
    int c = 0;
    if (scratch[n - k - 1] < t) {
      // no tie of t outside the k largest: they are exactly the scores >= t
      for (int j = 0; j < n; j++) {
        at[c] = j;
        c += a[off + j] >= t ? 1 : 0;
      }
    } else {
      // every score above t (all among the k largest), then the first ties of t
      int above = 0;
      for (int p = n - k; p < n; p++) {
        above += scratch[p] > t ? 1 : 0;
      }
      int tiesLeft = k - above;
      for (int j = 0; j < n; j++) {
        float v = a[off + j];
        boolean tie = v == t && tiesLeft > 0;
        tiesLeft -= tie ? 1 : 0;
        at[c] = j;
        c += v > t | tie ? 1 : 0;
      }
    }
    double keptMass = 0;
    for (int i = 0; i < c; i++) {
      keptMass += exps[at[i]];
    }
    java.util.Arrays.fill(a, off, off + n, 0f);
    for (int i = 0; i < c; i++) {
      int j = at[i];
      a[off + j] = renormalise ? (float) (exps[j] / keptMass) : exps[j] * inv;
    }
    if (keptMask != null) {
      for (int i = 0; i < c; i++) {
        mark(keptMask, maskBit + at[i]);
      }
    }
    return k;
  }

  private static void mark(long[] mask, int bit) {
    if (mask != null) {
      mask[bit >>> 6] |= 1L << bit;
    }
  }
}
