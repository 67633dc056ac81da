package io.thetacal.model.llama;

import io.thetacal.attention.AttentionMode;
import io.thetacal.attention.AttentionObserver;
import io.thetacal.attention.AttentionOutputError;
import io.thetacal.attention.AttentionStats;
import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.ModelFamily;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.SequenceOutput;
import io.thetacal.model.TextTokenizer;
import io.thetacal.model.TransformerModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A LLaMA-family decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU) whose attention rows all go
 * through {@link io.thetacal.attention.AttentionKernel}, so every capture and sparsification mode applies.
 * Forward passes are causal: prefill row i sees n = i + 1 keys, or the last {@code slidingWindow} of them
 * (see {@link LlamaConfig#visibleKeys}). Thread-safe: weights are read-only and
 * every forward pass or {@link DecoderSession} has its own state.
 */
public final class LlamaModel implements TransformerModel {
  private final ModelInfo info;
  private final LlamaConfig config;
  private final LlamaWeights weights;
  private final TextTokenizer tokenizer;
  private final double[] invFreq;

  public LlamaModel(ModelInfo info, LlamaConfig config, LlamaWeights weights, TextTokenizer tokenizer) {
    this.info = Objects.requireNonNull(info, "info");
    this.config = Objects.requireNonNull(config, "config");
    this.weights = Objects.requireNonNull(weights, "weights");
    this.tokenizer = tokenizer;
    if (info.family() != ModelFamily.DECODER) {
      throw new IllegalArgumentException("a LLaMA model is a DECODER, not " + info.family());
    }
    if (weights.layers().size() != config.numLayers()) {
      throw new IllegalArgumentException("weights have " + weights.layers().size()
          + " layers but the configuration declares " + config.numLayers());
    }
    invFreq = config.ropeScaling().inverseFrequencies(config.ropeTheta(), config.ropeDim());
  }

  /** Builds the {@link ModelInfo} of a decoder from its configuration. */
  public static ModelInfo infoOf(String id, String contentHash, String format, LlamaConfig c) {
    return new ModelInfo(id, contentHash, format, ModelFamily.DECODER, c.numLayers(), c.numHeads(),
        c.numKvHeads(), c.headDim(), c.hiddenSize(), c.vocabSize(), c.maxPositions());
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  public LlamaConfig config() {
    return config;
  }

  LlamaWeights weights() {
    return weights;
  }

  double[] invFreq() {
    return invFreq;
  }

  @Override
  public TextTokenizer tokenizer() {
    if (tokenizer == null) {
      throw new UnsupportedOperationException(info.id() + " has no tokenizer; feed token ids instead");
    }
    return tokenizer;
  }

  /** Whether a tokenizer came with the checkpoint. */
  public boolean hasTokenizer() {
    return tokenizer != null;
  }

  /**
   * A decoding session with its own KV cache: prefill a prompt, then step one token at a time. Rows are
   * reported to the observer and counted in stats (may be null) under the given sequence index.
   */
  public DecoderSession newSession(AttentionMode mode, AttentionObserver observer, AttentionStats stats,
      int sequence) {
    return new DecoderSession(this, mode, observer, stats, sequence);
  }

  @Override
  public ForwardResult forward(ForwardRequest request) {
    AttentionStats stats = new AttentionStats(config.numLayers());
    AttentionOutputError outputError =
        request.wantAttentionError() ? new AttentionOutputError(config.numLayers()) : null;
    List<SequenceOutput> outs = new ArrayList<>(request.sequences().size());
    for (int s = 0; s < request.sequences().size(); s++) {
      int[] tokens = request.sequences().get(s);
      DecoderSession session = new DecoderSession(this, request.mode(), request.observer(), stats, s,
          outputError);
      DecoderSession.Chunk c = session.run(tokens, request.wantOutputs(), request.wantLogits(),
          request.wantHidden(), false);
      outs.add(new SequenceOutput(tokens.length, c.hidden(), null, c.logits()));
    }
    return new ForwardResult(outs, stats, outputError);
  }

  /**
   * Greedy generation: prefills the prompt, then feeds back the argmax (lowest id on ties) for
   * {@code steps} tokens. Dense attention.
   */
  public int[] generateGreedy(int[] prompt, int steps) {
    DecoderSession session = newSession(AttentionMode.dense(), AttentionObserver.NONE, null, 0);
    return session.generateGreedy(prompt, steps, null);
  }
}
