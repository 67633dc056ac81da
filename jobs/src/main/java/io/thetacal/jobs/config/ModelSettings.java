package io.thetacal.jobs.config;

/**
 * Which model to load and how to feed it.
 *
 * @param id a short model id (e.g. {@code all-minilm-l6-v2}) or a path to a model file/directory
 * @param batchSize sequences per forward pass
 * @param maxSequenceLength tokens per sequence, special tokens included; longer documents are chunked
 */
public record ModelSettings(String id, int batchSize, int maxSequenceLength) {
  void validate(String key, Problems p) {
    p.notBlank(key + ".id", id);
    p.positive(key + ".batch_size", batchSize);
    p.atLeast(key + ".max_sequence_length", maxSequenceLength, 4);
  }
}
