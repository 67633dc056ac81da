package io.thetacal.attention;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Attention rows as a forward pass delivered them to its observer (scores, max and dense denominator,
 * copied), replayable into another observer. The denominator comes from the kernel's vectorised
 * exponentials, whose last bits differ between interpreted and JIT-compiled code, so a bitwise property
 * over states must compare states fed the same rows rather than two forward passes.
 */
public final class RecordedRows implements AttentionObserver {
  private record Row(int layer, int head, int sequence, int row, float[] scores, float max,
      double denominator) {
  }

  private final List<Row> rows = new ArrayList<>();

  @Override
  public void onRow(AttentionRow r) {
    rows.add(new Row(r.layer(), r.head(), r.sequence(), r.row(),
        Arrays.copyOfRange(r.scores(), r.offset(), r.offset() + r.n()), r.max(), r.denominator()));
  }

  public int size() {
    return rows.size();
  }

  /** Delivers every recorded row, in order, to {@code observer}. */
  public void replay(AttentionObserver observer) {
    AttentionRow view = new AttentionRow();
    for (Row r : rows) {
      view.layer = r.layer();
      view.head = r.head();
      view.sequence = r.sequence();
      view.row = r.row();
      view.n = r.scores().length;
      view.scores = r.scores().clone();
      view.offset = 0;
      view.max = r.max();
      view.denominator = r.denominator();
      observer.onRow(view);
    }
  }
}
