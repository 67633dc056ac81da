package io.thetacal.model;

import io.thetacal.attention.AttentionOutputError;
import io.thetacal.attention.AttentionStats;
import java.util.List;

/**
 * The outputs of one batched forward pass and the counts of what its attention kept.
 *
 * @param attentionError per-layer attention output error against dense attention on the same layer
 *     inputs, when {@link ForwardRequest#wantAttentionError()} asked for it; null otherwise
 */
public record ForwardResult(List<SequenceOutput> sequences, AttentionStats stats,
    AttentionOutputError attentionError) {
  public ForwardResult {
    sequences = List.copyOf(sequences);
  }

  /** A result without attention output error. */
  public ForwardResult(List<SequenceOutput> sequences, AttentionStats stats) {
    this(sequences, stats, null);
  }
}
