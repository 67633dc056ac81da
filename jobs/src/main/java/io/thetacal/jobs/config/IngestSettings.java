package io.thetacal.jobs.config;

/**
 * How raw documents become calibration sequences.
 *
 * @param chunking how documents longer than {@code model.max_sequence_length} are cut
 * @param maxTextChars documents longer than this (in characters) are rejected as over-long
 * @param holdoutFraction share of documents put in the holdout split, chosen by a seeded hash of the
 *     document id (the same document always lands in the same split)
 * @param seed seed of that hash
 * @param maxRejectedFraction the job fails when a dataset rejects more than this share of its documents
 */
public record IngestSettings(
    ChunkingSettings chunking,
    int maxTextChars,
    double holdoutFraction,
    long seed,
    double maxRejectedFraction) {

  void validate(String key, Problems p) {
    if (!p.missing(key + ".chunking", chunking)) {
      chunking.validate(key + ".chunking", p);
    }
    p.positive(key + ".max_text_chars", maxTextChars);
    p.fraction(key + ".holdout_fraction", holdoutFraction, false);
    p.fraction(key + ".max_rejected_fraction", maxRejectedFraction, true);
  }
}
