package io.thetacal.report;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionRow;
import io.thetacal.attention.Placement;
import java.util.Objects;

/**
 * Feeds a {@link KeptHistogram} with the kept count of every thresholded row of a sparse forward pass.
 * The observer sees each row before pruning, so it re-applies the mode's keep rule to count: Top-θ keeps
 * a_j &gt; θ (pre-softmax) or p_j &gt; θ (post-softmax, with p_j computed in the same float precision
 * as {@link io.thetacal.attention.AttentionKernel}); exact top-k keeps k. Rows with n ≤ k are not
 * thresholded and not recorded. Like every observer it serves one forward pass (one thread) at a time.
 */
public final class KeptCountObserver implements AttentionObserver {
  private final AttentionMode mode;
  private final KeptHistogram histogram;

  public KeptCountObserver(AttentionMode mode, KeptHistogram histogram) {
    this.mode = Objects.requireNonNull(mode, "mode");
    this.histogram = Objects.requireNonNull(histogram, "histogram");
  }

  public KeptHistogram histogram() {
    return histogram;
  }

  @Override
  public boolean enabled() {
    return !(mode instanceof AttentionMode.Dense);
  }

  @Override
  public void onRow(AttentionRow row) {
    int n = row.n();
    if (mode instanceof AttentionMode.TopK topK) {
      if (n > topK.k()) {
        histogram.record(row.layer(), topK.k());
      }
    } else if (mode instanceof AttentionMode.TopTheta tt && n > tt.k()) {
      float theta = tt.table().threshold(row.layer(), row.head(), n, tt.k());
      float[] a = row.scores();
      int off = row.offset();
      int kept = 0;
      if (tt.placement() == Placement.PRE_SOFTMAX) {
        for (int j = 0; j < n; j++) {
          if (a[off + j] > theta) {
            kept++;
          }
        }
      } else {
        float m = row.max();
        double denom = row.denominator();
        for (int j = 0; j < n; j++) {
          float e = (float) Math.exp(a[off + j] - m);
          if ((float) (e / denom) > theta) {
            kept++;
          }
        }
      }
      histogram.record(row.layer(), kept);
    }
  }
}
