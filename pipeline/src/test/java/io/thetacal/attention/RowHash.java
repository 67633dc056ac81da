package io.thetacal.attention;

/**
 * An observer folding every row it sees (position, scores, denominator and the kernel's top-k size)
 * into one hash, for tests that two passes show observers the same rows in the same order.
 */
public final class RowHash implements AttentionObserver {
  private long hash;
  private long rows;

  @Override
  public void onRow(AttentionRow row) {
    long h = hash;
    h = h * 31 + row.layer();
    h = h * 31 + row.head();
    h = h * 31 + row.sequence();
    h = h * 31 + row.row();
    h = h * 31 + row.selectedK();
    for (int j = 0; j < row.n(); j++) {
      h = h * 31 + Float.floatToRawIntBits(row.score(j));
    }
    h = h * 31 + Double.doubleToRawLongBits(row.denominator());
    hash = h;
    rows++;
  }

  public long hash() {
    return hash;
  }

  public long rows() {
    return rows;
  }
}
