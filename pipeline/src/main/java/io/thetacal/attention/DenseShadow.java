package io.thetacal.attention;

import java.util.Objects;

/**
 * Runs a sparse {@link AttentionKernel} and, beside it, dense attention on the same row of scores, so that
 * an engine can compute the dense attention output from the same layer input as the sparse one (for
 * {@link AttentionOutputError}). The row's raw scores are copied into a shadow buffer before the sparse
 * kernel rewrites them; the shadow then gets dense weights from a second kernel, so both come from the
 * same per-row math. Not thread-safe: one per kernel.
 */
public final class DenseShadow {
  private final AttentionKernel sparse;
  private final AttentionKernel dense =
      new AttentionKernel(AttentionMode.dense(), AttentionObserver.NONE, null);

  public DenseShadow(AttentionKernel sparse) {
    this.sparse = Objects.requireNonNull(sparse, "sparse");
  }

  public AttentionKernel sparse() {
    return sparse;
  }

  /**
   * Like {@link AttentionKernel#apply}, and in addition writes the dense weights of the same row to
   * {@code shadow[shadowOff .. shadowOff + n)}.
   *
   * @return the sparse kernel's V-mean coefficient r (dense attention has none)
   */
  public double apply(int layer, int head, int sequence, int row, float[] a, int off, int n,
      long[] keptMask, int maskBit, float[] shadow, int shadowOff) {
    System.arraycopy(a, off, shadow, shadowOff, n);
    double r = sparse.apply(layer, head, sequence, row, a, off, n, keptMask, maskBit);
    dense.apply(layer, head, sequence, row, shadow, shadowOff, n, null, 0);
    return r;
  }
}
