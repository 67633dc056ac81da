package io.thetacal.model;

/**
 * What a forward pass returns for one sequence of a batch.
 *
 * @param length tokens in the sequence (padding excluded)
 * @param hidden final hidden states, row-major [length × hiddenSize] (after the final norm for decoders)
 * @param pooled encoders: mean of the final hidden states over the sequence's tokens; decoders: null
 * @param logits decoders: raw next-token logits, row-major [length × vocab]; encoders: null
 */
public record SequenceOutput(int length, float[] hidden, float[] pooled, float[] logits) {
}
