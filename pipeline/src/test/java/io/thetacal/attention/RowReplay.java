package io.thetacal.attention;

import java.util.ArrayList;
import java.util.List;

/**
 * Copies of captured attention rows (scores, max, denominator, coordinates) that can be fed again to any
 * observer, so that statistics can be timed and compared apart from the forward pass that produced them.
 */
public final class RowReplay implements AttentionObserver {
  private record Captured(int layer, int head, int sequence, int row, float[] scores, float max,
      double denominator) {
  }

  private final List<Captured> rows = new ArrayList<>();

  @Override
  public void onRow(AttentionRow r) {
    float[] s = new float[r.n()];
    System.arraycopy(r.scores(), r.offset(), s, 0, r.n());
    rows.add(new Captured(r.layer(), r.head(), r.sequence(), r.row(), s, r.max(), r.denominator()));
  }

  /** Adds a row of given scores, with its max and its dense denominator Σ e^(a - max). */
  public void add(int layer, int head, float[] scores) {
    float max = Float.NEGATIVE_INFINITY;
    for (float v : scores) {
      max = Math.max(max, v);
    }
    double d = 0;
    for (float v : scores) {
      d += Math.exp((double) v - max);
    }
    rows.add(new Captured(layer, head, 0, rows.size(), scores.clone(), max, d));
  }

  public int size() {
    return rows.size();
  }

  /** Σ n over the captured rows. */
  public long elements() {
    long e = 0;
    for (Captured c : rows) {
      e += c.scores().length;
    }
    return e;
  }

  /** Feeds every captured row, in capture order, to the observer. */
  public void replay(AttentionObserver observer) {
    AttentionRow view = new AttentionRow();
    for (Captured c : rows) {
      view.layer = c.layer();
      view.head = c.head();
      view.sequence = c.sequence();
      view.row = c.row();
      view.scores = c.scores();
      view.offset = 0;
      view.n = c.scores().length;
      view.max = c.max();
      view.denominator = c.denominator();
      observer.onRow(view);
    }
  }
}
