package io.thetacal.model.llama;

import java.util.Arrays;

/**
 * How RoPE frequencies are stretched for contexts longer than the pretraining one. Given the base inverse
 * frequencies {@code inv_i = theta^(-2i/ropeDim)}, {@link #inverseFrequencies} applies:
 * <ul>
 *   <li>{@code none}: inv_i unchanged;</li>
 *   <li>{@code linear} (position interpolation): inv_i / factor;</li>
 *   <li>{@code llama3} (Hugging Face {@code _compute_llama3_parameters}): with wavelength
 *       {@code w_i = 2π / inv_i}, {@code w_hi = original / highFreqFactor} and {@code w_lo = original /
 *       lowFreqFactor}: inv_i if w_i &lt; w_hi; inv_i / factor if w_i &gt; w_lo; otherwise
 *       {@code (1 - s) inv_i / factor + s inv_i} with {@code s = (original / w_i - lowFreqFactor) /
 *       (highFreqFactor - lowFreqFactor)};</li>
 *   <li>{@code freq_factors} (GGUF {@code rope_freqs.weight}, llama.cpp): inv_i / freqFactors[i].</li>
 * </ul>
 *
 * @param type one of {@link #SUPPORTED}
 * @param factor scaling factor (linear, llama3), 1 otherwise
 * @param lowFreqFactor llama3 only
 * @param highFreqFactor llama3 only
 * @param originalMaxPositions llama3: the pretraining context length
 * @param freqFactors freq_factors: one divisor per rotated pair, else null
 */
public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
    int originalMaxPositions, float[] freqFactors) {
  /** The scaling types this engine implements. */
  public static final String SUPPORTED = "none, linear, llama3";
  public static final RopeScaling NONE = new RopeScaling("none", 1, 0, 0, 0, null);

  public RopeScaling {
    switch (type) {
      case "none" -> { }
      case "linear" -> finitePositive("factor", factor);
      case "llama3" -> {
        finitePositive("factor", factor);
        finitePositive("low_freq_factor", lowFreqFactor);
        finitePositive("high_freq_factor", highFreqFactor);
        if (!(highFreqFactor > lowFreqFactor)) {
          throw new IllegalArgumentException("'high_freq_factor' is set to " + highFreqFactor
              + " but must be > low_freq_factor (" + lowFreqFactor + ")");
        }
        if (originalMaxPositions <= 0) {
          throw new IllegalArgumentException("'original_max_position_embeddings' is set to "
              + originalMaxPositions + " but must be > 0");
        }
      }
      case "freq_factors" -> {
        if (freqFactors == null || freqFactors.length == 0) {
          throw new IllegalArgumentException("freq_factors scaling needs one factor per rotated pair");
        }
        freqFactors = freqFactors.clone();
        for (int i = 0; i < freqFactors.length; i++) {
          finitePositive("rope_freqs[" + i + "]", freqFactors[i]);
        }
      }
      default -> throw new IllegalArgumentException("RoPE scaling type is '" + type + "' but must be one of "
          + SUPPORTED);
    }
  }

  public static RopeScaling linear(double factor) {
    return new RopeScaling("linear", factor, 0, 0, 0, null);
  }

  public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor,
      int originalMaxPositions) {
    return new RopeScaling("llama3", factor, lowFreqFactor, highFreqFactor, originalMaxPositions, null);
  }

  /** Per-pair divisors of the inverse frequencies, as GGUF stores them in {@code rope_freqs.weight}. */
  public static RopeScaling freqFactors(float[] factors) {
    return new RopeScaling("freq_factors", 1, 0, 0, 0, factors);
  }

  private static void finitePositive(String key, double v) {
    if (!(v > 0) || Double.isInfinite(v)) {
      throw new IllegalArgumentException("'" + key + "' is set to " + v + " but must be > 0");
    }
  }

  @Override
  public float[] freqFactors() {
    return freqFactors == null ? null : freqFactors.clone();
  }

  /** The scaled inverse frequency of each rotated pair i in [0, ropeDim / 2). */
  public double[] inverseFrequencies(double theta, int ropeDim) {
    int half = ropeDim / 2;
    if (freqFactors != null && freqFactors.length != half) {
      throw new IllegalArgumentException("rope_freqs has " + freqFactors.length + " factors but RoPE rotates "
          + half + " pairs");
    }
    double[] inv = new double[half];
    for (int i = 0; i < half; i++) {
      double base = Math.pow(theta, -2.0 * i / ropeDim);
      inv[i] = switch (type) {
        case "linear" -> base / factor;
        case "freq_factors" -> base / freqFactors[i];
        case "llama3" -> llama3(base);
        default -> base;
      };
    }
    return inv;
  }

  private double llama3(double inv) {
    double wavelen = 2 * Math.PI / inv;
    double highWavelen = originalMaxPositions / highFreqFactor;
    double lowWavelen = originalMaxPositions / lowFreqFactor;
    if (wavelen < highWavelen) {
      return inv;
    }
    if (wavelen > lowWavelen) {
      return inv / factor;
    }
    double s = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return (1 - s) * inv / factor + s * inv;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RopeScaling r && type.equals(r.type) && factor == r.factor
        && lowFreqFactor == r.lowFreqFactor && highFreqFactor == r.highFreqFactor
        && originalMaxPositions == r.originalMaxPositions && Arrays.equals(freqFactors, r.freqFactors);
  }

  @Override
  public int hashCode() {
    return type.hashCode() * 31 + Arrays.hashCode(freqFactors);
  }

  @Override
  public String toString() {
    return type.equals("freq_factors") ? "freq_factors" + Arrays.toString(freqFactors)
        : type.equals("llama3") ? "llama3(factor " + factor + ", low " + lowFreqFactor + ", high " + highFreqFactor
            + ", original " + originalMaxPositions + ")"
        : type.equals("linear") ? "linear(factor " + factor + ")" : "none";
  }
}
