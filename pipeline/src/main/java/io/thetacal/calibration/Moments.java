package io.thetacal.calibration;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;

/**
 * Exact moments of t_row(k) over the calibration rows of one cell, in fixed point: {@code sum} = Σ q and
 * {@code sumSquares} = Σ q² with q = round(t · 2^scaleBits). The θ recipe, shared by every consumer:
 * mean = Σq / (N · 2^s); var = (N·Σq² − (Σq)²) / (N · (N − 1) · 2^{2s}) (sample variance, 0 when N = 1);
 * std = √var; θ = mean + σ_add · std; each step in {@link MathContext#DECIMAL128}, then rounded once to
 * float.
 *
 * @param count rows N
 * @param sum Σ q
 * @param sumSquares Σ q²
 * @param scaleBits s
 */
public record Moments(long count, BigInteger sum, BigInteger sumSquares, int scaleBits) {
  static final MathContext MC = MathContext.DECIMAL128;

  public BigDecimal mean() {
    if (count == 0) {
      throw new IllegalStateException("no rows: the mean is undefined");
    }
    return new BigDecimal(sum).divide(
        new BigDecimal(BigInteger.valueOf(count).shiftLeft(scaleBits)), MC);
  }

  public BigDecimal std() {
    if (count <= 1) {
      return BigDecimal.ZERO;
    }
    BigInteger n = BigInteger.valueOf(count);
    BigInteger num = n.multiply(sumSquares).subtract(sum.multiply(sum));
    BigInteger den = n.multiply(n.subtract(BigInteger.ONE)).shiftLeft(2 * scaleBits);
    return new BigDecimal(num).divide(new BigDecimal(den), MC).sqrt(MC);
  }

  /** θ = mean + σ_add · std, rounded once to float. */
  public float theta(double sigmaAdd) {
    return theta(mean(), std(), sigmaAdd);
  }

  /** The last step of the recipe, for callers that already hold {@link #mean()} and {@link #std()}. */
  static float theta(BigDecimal mean, BigDecimal std, double sigmaAdd) {
    return mean.add(new BigDecimal(sigmaAdd).multiply(std, MC), MC).floatValue();
  }
}
