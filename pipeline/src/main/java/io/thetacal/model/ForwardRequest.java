package io.thetacal.model;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import java.util.List;
import java.util.Objects;

/**
 * A batch of token-id sequences (of any lengths; the engine pads and masks) and how to run attention.
 *
 * @param sequences token ids per sequence, special tokens included
 * @param mode dense, top-k or Top-θ
 * @param observer receives every attention row before pruning; {@link AttentionObserver#NONE} for none
 * @param wantHidden whether to return final hidden states (pooled outputs are always returned)
 * @param wantLogits whether decoders compute logits (the output projection is skipped otherwise)
 * @param wantAttentionError whether every layer also computes dense attention from the same layer input
 *     and measures the sparse attention output against it ({@link ForwardResult#attentionError()});
 *     this costs a second weights-times-V product per layer
 * @param wantOutputs whether the pass computes the model's outputs (pooled embeddings, hidden states,
 *     logits); without them the last layer stops after its attention kernel, which is all that capture
 *     and statistics passes need: observers, kept counts and V-row counts are the same, and the last
 *     layer's attention output and feed-forward block are not computed. The sequences' outputs are then
 *     null except their lengths.
 */
public record ForwardRequest(List<int[]> sequences, AttentionMode mode, AttentionObserver observer,
    boolean wantHidden, boolean wantLogits, boolean wantAttentionError, boolean wantOutputs) {
  public ForwardRequest {
    sequences = List.copyOf(sequences);
    Objects.requireNonNull(mode, "mode");
    observer = observer == null ? AttentionObserver.NONE : observer;
    if (!wantOutputs && (wantHidden || wantLogits || wantAttentionError)) {
      throw new IllegalArgumentException("a request without outputs (wantOutputs = false) cannot ask for "
          + (wantHidden ? "hidden states" : wantLogits ? "logits" : "the attention output error")
          + ": they are outputs of the layers it skips");
    }
  }

  /** A request with the model's outputs. */
  public ForwardRequest(List<int[]> sequences, AttentionMode mode, AttentionObserver observer,
      boolean wantHidden, boolean wantLogits, boolean wantAttentionError) {
    this(sequences, mode, observer, wantHidden, wantLogits, wantAttentionError, true);
  }

  /** A request with the model's outputs, without the per-layer attention output error. */
  public ForwardRequest(List<int[]> sequences, AttentionMode mode, AttentionObserver observer,
      boolean wantHidden, boolean wantLogits) {
    this(sequences, mode, observer, wantHidden, wantLogits, false);
  }

  /**
   * A pass for its attention rows and counts only: the observer sees every row and the result carries
   * the kept and V-row counts, but no outputs are computed ({@link #wantOutputs}).
   */
  public static ForwardRequest attentionOnly(List<int[]> sequences, AttentionMode mode,
      AttentionObserver observer) {
    return new ForwardRequest(sequences, mode, observer, false, false, false, false);
  }

  /** Dense attention, no capture, pooled outputs and logits. */
  public static ForwardRequest of(List<int[]> sequences) {
    return new ForwardRequest(sequences, AttentionMode.dense(), AttentionObserver.NONE, false, true);
  }

  public ForwardRequest withMode(AttentionMode m) {
    return new ForwardRequest(sequences, m, observer, wantHidden, wantLogits, wantAttentionError,
        wantOutputs);
  }

  public ForwardRequest withObserver(AttentionObserver o) {
    return new ForwardRequest(sequences, mode, o, wantHidden, wantLogits, wantAttentionError, wantOutputs);
  }

  public ForwardRequest withHidden(boolean on) {
    return new ForwardRequest(sequences, mode, observer, on, wantLogits, wantAttentionError, wantOutputs);
  }

  public ForwardRequest withLogits(boolean on) {
    return new ForwardRequest(sequences, mode, observer, wantHidden, on, wantAttentionError, wantOutputs);
  }

  public ForwardRequest withOutputs(boolean on) {
    return new ForwardRequest(sequences, mode, observer, wantHidden, wantLogits, wantAttentionError, on);
  }

  public ForwardRequest withAttentionError(boolean on) {
    return new ForwardRequest(sequences, mode, observer, wantHidden, wantLogits, on, wantOutputs);
  }
}
