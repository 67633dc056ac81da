package io.thetacal.report;

import java.util.List;

/**
 * Paired retrieval check for encoders: query i's true match is candidate i (e.g. the two halves of one
 * text). Each query ranks all candidates by cosine similarity; the rank of its match is 1 plus the
 * number of other candidates scoring at least as high (ties count against the match, so a collapsed
 * embedding space cannot look good). Gives a quality number a user can read: how often sparsified
 * embeddings still find the right partner.
 *
 * @param ranks rank of each query's match (1 = best)
 * @param meanReciprocalRank mean of 1/rank
 * @param recallAt1 fraction of queries whose match ranks first
 */
public record Retrieval(int[] ranks, double meanReciprocalRank, double recallAt1) {

  /** Ranks candidate i for query i among all candidates. */
  public static Retrieval evaluate(List<float[]> queries, List<float[]> candidates) {
    if (queries.size() != candidates.size()) {
      throw new IllegalArgumentException("retrieval needs one candidate per query but got "
          + queries.size() + " queries and " + candidates.size() + " candidates");
    }
    int m = queries.size();
    if (m < 2) {
      throw new IllegalArgumentException(
          "retrieval needs at least 2 pairs to rank against each other but got " + m);
    }
    int[] ranks = new int[m];
    double rr = 0;
    int top1 = 0;
    for (int i = 0; i < m; i++) {
      float[] q = queries.get(i);
      double own = Metrics.cosine(q, candidates.get(i));
      int rank = 1;
      for (int j = 0; j < m; j++) {
        if (j != i && !(Metrics.cosine(q, candidates.get(j)) < own)) {
          rank++;
        }
      }
      ranks[i] = rank;
      rr += 1.0 / rank;
      if (rank == 1) {
        top1++;
      }
    }
    return new Retrieval(ranks, rr / m, (double) top1 / m);
  }
}
