package io.thetacal.report;

import java.util.Locale;

/**
 * Decoder quality: mean next-token negative log-likelihood (nats per predicted token) of the dense and
 * the sparse pass over the same tokens, and the fraction of positions whose top-1 prediction agrees.
 * Quality loss = relative NLL increase, (NLL_sparse − NLL_dense) / NLL_dense.
 *
 * @param predictedTokens positions the NLL averages over (length − 1 per sequence)
 * @param positions positions the top-1 agreement counts over (length per sequence)
 */
public record DecoderQuality(long predictedTokens, double nllDense, double nllSparse, long positions,
    double top1Agreement) implements Quality {

  /** NLL_sparse − NLL_dense in nats per token. */
  public double nllDelta() {
    return nllSparse - nllDense;
  }

  @Override
  public double loss() {
    return nllDense > 0 ? (nllSparse - nllDense) / nllDense : Double.NaN;
  }

  @Override
  public String describeLoss() {
    return String.format(Locale.ROOT,
        "NLL %.4f → %.4f nats/token (%+.2f%%), top-1 agreement %.1f%% over %d tokens",
        nllDense, nllSparse, 100 * loss(), 100 * top1Agreement, positions);
  }
}
