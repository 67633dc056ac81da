package io.thetacal.attention;

/** A NaN or infinite attention score: the model or its weights are broken. Names layer and head. */
public final class NonFiniteScoreException extends IllegalStateException {
  private final int layer;
  private final int head;

  public NonFiniteScoreException(int layer, int head, int row, int col, float value) {
    super("non-finite attention score " + value + " at layer " + layer + ", head " + head + ", row "
        + row + ", key " + col + ": the model produced NaN/Inf (broken weights or input?)");
    this.layer = layer;
    this.head = head;
  }

  public int layer() {
    return layer;
  }

  public int head() {
    return head;
  }
}
