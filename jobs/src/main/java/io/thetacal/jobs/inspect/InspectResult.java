package io.thetacal.jobs.inspect;

import java.util.Optional;

/**
 * The outcome of {@code thetacal inspect}.
 *
 * @param output the Parquet file written: one row per (layer, head, row, col)
 * @param modelId model id or path
 * @param tokens the token ids that went through the model
 * @param rows rows written (layers · heads · Σ visible keys per query row)
 * @param layers layers of the model
 * @param heads query heads per layer
 * @param logitsOutput the raw little-endian float32 logits file [tokens × vocab], when requested
 * @param vocabSize the logits' row length
 */
public record InspectResult(String output, String modelId, int[] tokens, long rows, int layers, int heads,
    Optional<String> logitsOutput, int vocabSize) {
  public InspectResult {
    tokens = tokens.clone();
  }

  @Override
  public int[] tokens() {
    return tokens.clone();
  }
}
