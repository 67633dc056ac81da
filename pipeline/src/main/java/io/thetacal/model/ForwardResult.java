package io.thetacal.model;

import io.thetacal.attention.AttentionStats;
import java.util.List;

/** The outputs of one batched forward pass and the counts of what its attention kept. */
public record ForwardResult(List<SequenceOutput> sequences, AttentionStats stats) {
  public ForwardResult {
    sequences = List.copyOf(sequences);
  }
}
