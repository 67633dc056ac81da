package io.thetacal.report;

import java.util.Locale;

/**
 * Encoder quality: mean cosine similarity between the dense and sparse pooled embedding of each
 * sequence, and a paired retrieval check (mean reciprocal rank and recall@1, dense vs sparse; see
 * {@link Retrieval}). Quality loss = max(1 − mean cosine, MRR_dense − MRR_sparse): the embedding must
 * stay close to dense AND still find the same partners; without pairs (pairs &lt; 2) only the cosine
 * term counts.
 */
public record EncoderQuality(long sequences, double meanCosine, int pairs, double mrrDense,
    double mrrSparse, double recallAt1Dense, double recallAt1Sparse) implements Quality {

  public double mrrDrop() {
    return pairs >= 2 ? mrrDense - mrrSparse : Double.NaN;
  }

  @Override
  public double loss() {
    double cos = 1 - meanCosine;
    double mrr = mrrDrop();
    return Double.isNaN(mrr) ? cos : Math.max(cos, mrr);
  }

  @Override
  public String describeLoss() {
    String s = String.format(Locale.ROOT, "1 − mean cosine %.4f over %d sequences", 1 - meanCosine,
        sequences);
    if (pairs >= 2) {
      s += String.format(Locale.ROOT, "; MRR %.3f → %.3f (drop %.4f), recall@1 %.3f → %.3f, %d pairs",
          mrrDense, mrrSparse, mrrDrop(), recallAt1Dense, recallAt1Sparse, pairs);
    }
    return s;
  }
}
