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
 */
public record ForwardRequest(List<int[]> sequences, AttentionMode mode, AttentionObserver observer,
    boolean wantHidden, boolean wantLogits, boolean wantAttentionError) {
  public ForwardRequest {
    sequences = List.copyOf(sequences);
    Objects.requireNonNull(mode, "mode");
    observer = observer == null ? AttentionObserver.NONE : observer;
  }

  /** A request without the per-layer attention output error. */
  public ForwardRequest(List<int[]> sequences, AttentionMode mode, AttentionObserver observer,
      boolean wantHidden, boolean wantLogits) {
    this(sequences, mode, observer, wantHidden, wantLogits, false);
  }

  /** Dense attention, no capture, pooled outputs and logits. */
  public static ForwardRequest of(List<int[]> sequences) {
    return new ForwardRequest(sequences, AttentionMode.dense(), AttentionObserver.NONE, false, true);
  }

  public ForwardRequest withMode(AttentionMode m) {
    return new ForwardRequest(sequences, m, observer, wantHidden, wantLogits, wantAttentionError);
  }

  public ForwardRequest withObserver(AttentionObserver o) {
    return new ForwardRequest(sequences, mode, o, wantHidden, wantLogits, wantAttentionError);
  }

  public ForwardRequest withHidden(boolean on) {
    return new ForwardRequest(sequences, mode, observer, on, wantLogits, wantAttentionError);
  }

  public ForwardRequest withLogits(boolean on) {
    return new ForwardRequest(sequences, mode, observer, wantHidden, on, wantAttentionError);
  }

  public ForwardRequest withAttentionError(boolean on) {
    return new ForwardRequest(sequences, mode, observer, wantHidden, wantLogits, on);
  }
}
