package io.thetacal.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.thetacal.io.Sha256;
import io.thetacal.model.HfTokenizer;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.ModelInfo;
import io.thetacal.model.TensorSource;
import io.thetacal.model.TextTokenizer;
import io.thetacal.model.WeightMatrix;
import io.thetacal.model.gguf.GgufFile;
import io.thetacal.model.safetensors.SafetensorsCheckpoint;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Loads LLaMA-family decoders from a GGUF file or a Hugging Face directory ({@code config.json} plus
 * {@code *.safetensors} or {@code model.safetensors.index.json}). Weight matrices stay in their stored
 * encoding in the memory-mapped files and are decoded in tiles while the model runs; only norm weights and
 * biases are decoded to the heap, so the heap a loaded model retains does not grow with its matrices.
 */
public final class LlamaModels {
  /** GGUF architectures read with the {@code <arch>.*} keys; the value is their RoPE pair layout. */
  private static final Set<String> GGUF_ADJACENT = Set.of("llama", "mistral");
  private static final Set<String> GGUF_NEOX = Set.of("qwen2");
  private static final ObjectMapper JSON = new ObjectMapper();

  private LlamaModels() {
  }

  /** Loads from a .gguf file, an HF directory, or the config.json inside one. */
  public static LlamaModel load(Path path) {
    if (Files.isDirectory(path)) {
      return loadHf(path);
    }
    if (!Files.isRegularFile(path)) {
      throw new ModelLoadException(path + " does not exist (expected a .gguf file or a directory with "
          + "config.json and *.safetensors)");
    }
    if (path.getFileName().toString().equals("config.json")) {
      return loadHf(path.toAbsolutePath().getParent());
    }
    return loadGguf(path);
  }

  /** Loads a GGUF file (F32, F16, BF16, Q8_0 tensors). */
  public static LlamaModel loadGguf(Path path) {
    GgufFile f = GgufFile.open(path);
    return loadGguf(f, sha256(f.files()));
  }

  /** Builds the model of an opened GGUF file under a content hash the caller computed. */
  static LlamaModel loadGguf(GgufFile f, String contentHash) {
    Path path = f.path();
    String arch = f.getString("general.architecture");
    RopeLayout layout;
    if (GGUF_ADJACENT.contains(arch)) {
      layout = RopeLayout.ADJACENT_PAIRS;
    } else if (GGUF_NEOX.contains(arch)) {
      layout = RopeLayout.ROTATE_HALF;
    } else {
      throw new ModelLoadException(path + ": metadata 'general.architecture' is '" + arch
          + "' but must be one of llama, mistral, qwen2");
    }
    int hidden = f.getPositiveInt(arch + ".embedding_length");
    int heads = f.getPositiveInt(arch + ".attention.head_count");
    int kvHeads = f.metadata().containsKey(arch + ".attention.head_count_kv")
        ? f.getPositiveInt(arch + ".attention.head_count_kv") : heads;
    int headDim = f.metadata().containsKey(arch + ".attention.key_length")
        ? f.getPositiveInt(arch + ".attention.key_length") : hidden / heads;
    int ropeDim = f.metadata().containsKey(arch + ".rope.dimension_count")
        ? f.getPositiveInt(arch + ".rope.dimension_count") : headDim;
    if (f.tensors().get("token_embd.weight") == null) {
      throw new ModelLoadException(path + ": tensor 'token_embd.weight' is missing");
    }
    long[] embShape = f.tensors().get("token_embd.weight").shape();
    int vocab = f.metadata().containsKey(arch + ".vocab_size")
        ? f.getPositiveInt(arch + ".vocab_size") : (int) Math.min(Integer.MAX_VALUE, embShape[0]);
    boolean bias = f.has("blk.0.attn_q.bias");
    int window = f.metadata().containsKey(arch + ".attention.sliding_window")
        ? f.getPositiveInt(arch + ".attention.sliding_window") : 0;
    RopeScaling scaling = ggufRopeScaling(f, arch, ropeDim);
    LlamaConfig config = config(path, () -> new LlamaConfig(vocab, hidden,
        f.getPositiveInt(arch + ".feed_forward_length"), f.getPositiveInt(arch + ".block_count"), heads,
        kvHeads, headDim, ropeDim, f.getDouble(arch + ".rope.freq_base", 10000.0),
        f.getDouble(arch + ".attention.layer_norm_rms_epsilon", 1e-5),
        f.getPositiveInt(arch + ".context_length"), layout, !f.has("output.weight"), bias, window, scaling));
    LlamaWeights weights = weights(f, config, new Names("token_embd.weight", "output_norm.weight",
        "output.weight", "blk.%d.attn_norm.weight", "blk.%d.attn_q.weight", "blk.%d.attn_k.weight",
        "blk.%d.attn_v.weight", "blk.%d.attn_q.bias", "blk.%d.attn_k.bias", "blk.%d.attn_v.bias",
        "blk.%d.attn_output.weight", "blk.%d.ffn_norm.weight", "blk.%d.ffn_gate.weight",
        "blk.%d.ffn_up.weight", "blk.%d.ffn_down.weight"));
    ModelInfo info = LlamaModel.infoOf(path.toString(), contentHash, "gguf", config);
    return new LlamaModel(info, config, weights, ggufTokenizer(f));
  }

  /** Loads a Hugging Face directory with config.json and safetensors weights (F32, F16, BF16). */
  public static LlamaModel loadHf(Path dir) {
    Path cfgPath = dir.resolve("config.json");
    JsonNode cfg;
    try {
      cfg = JSON.readTree(cfgPath.toFile());
    } catch (IOException e) {
      throw new ModelLoadException(cfgPath + ": cannot read: " + e.getMessage(), e);
    }
    if (cfg == null || !cfg.isObject()) {
      throw new ModelLoadException(cfgPath + ": must be a JSON object");
    }
    String type = cfg.path("model_type").asText("");
    if (!Set.of("llama", "mistral", "qwen2").contains(type)) {
      throw new ModelLoadException(cfgPath + ": 'model_type' is '" + type
          + "' but must be one of llama, mistral, qwen2");
    }
    RopeScaling scaling = hfRopeScaling(cfgPath, cfg.get("rope_scaling"));
    int window = hfSlidingWindow(cfgPath, cfg, type);
    int hidden = hfInt(cfgPath, cfg, "hidden_size", null);
    int heads = hfInt(cfgPath, cfg, "num_attention_heads", null);
    int kvHeads = hfInt(cfgPath, cfg, "num_key_value_heads", heads);
    int headDim = cfg.hasNonNull("head_dim") ? hfInt(cfgPath, cfg, "head_dim", null) : hidden / heads;
    boolean bias = type.equals("qwen2") || cfg.path("attention_bias").asBoolean(false);
    SafetensorsCheckpoint st = SafetensorsCheckpoint.open(dir);
    boolean tied = cfg.path("tie_word_embeddings").asBoolean(false) || !st.has("lm_head.weight");
    LlamaConfig config = config(cfgPath, () -> new LlamaConfig(hfInt(cfgPath, cfg, "vocab_size", null),
        hidden, hfInt(cfgPath, cfg, "intermediate_size", null),
        hfInt(cfgPath, cfg, "num_hidden_layers", null), heads, kvHeads, headDim, headDim,
        cfg.path("rope_theta").asDouble(10000.0), cfg.path("rms_norm_eps").asDouble(1e-6),
        hfInt(cfgPath, cfg, "max_position_embeddings", 4096), RopeLayout.ROTATE_HALF, tied, bias, window,
        scaling));
    LlamaWeights weights = weights(st, config, new Names("model.embed_tokens.weight", "model.norm.weight",
        "lm_head.weight", "model.layers.%d.input_layernorm.weight",
        "model.layers.%d.self_attn.q_proj.weight", "model.layers.%d.self_attn.k_proj.weight",
        "model.layers.%d.self_attn.v_proj.weight", "model.layers.%d.self_attn.q_proj.bias",
        "model.layers.%d.self_attn.k_proj.bias", "model.layers.%d.self_attn.v_proj.bias",
        "model.layers.%d.self_attn.o_proj.weight", "model.layers.%d.post_attention_layernorm.weight",
        "model.layers.%d.mlp.gate_proj.weight", "model.layers.%d.mlp.up_proj.weight",
        "model.layers.%d.mlp.down_proj.weight"));
    Path tokJson = dir.resolve("tokenizer.json");
    TextTokenizer tok = Files.isRegularFile(tokJson) ? HfTokenizer.fromFile(tokJson) : null;
    ModelInfo info = LlamaModel.infoOf(dir.toString(), sha256(st.files()), "safetensors", config);
    return new LlamaModel(info, config, weights, tok);
  }

  /**
   * {@code <arch>.rope.scaling.type} ("none" or "linear" with {@code <arch>.rope.scaling.factor}) and the
   * per-pair frequency divisors of a {@code rope_freqs.weight} tensor (how llama.cpp stores llama3 scaling).
   */
  private static RopeScaling ggufRopeScaling(GgufFile f, String arch, int ropeDim) {
    String typeKey = arch + ".rope.scaling.type";
    Object type = f.metadata().get(typeKey);
    RopeScaling scaling = RopeScaling.NONE;
    if (type != null && !"none".equals(type)) {
      if (!"linear".equals(type)) {
        throw new ModelLoadException(f.path() + ": metadata '" + typeKey + "' is '" + type
            + "' but must be one of none, linear (llama3 scaling comes as the tensor 'rope_freqs.weight')");
      }
      String factorKey = arch + ".rope.scaling.factor";
      if (!f.metadata().containsKey(factorKey)) {
        throw new ModelLoadException(f.path() + ": metadata '" + factorKey + "' is missing; '" + typeKey
            + "' = linear needs it");
      }
      double factor = f.getDouble(factorKey, 1);
      scaling = config(f.path(), () -> RopeScaling.linear(factor));
    }
    if (f.has("rope_freqs.weight")) {
      if (scaling != RopeScaling.NONE) {
        throw new ModelLoadException(f.path() + ": has both metadata '" + typeKey + "' = " + type
            + " and the tensor 'rope_freqs.weight'; only one RoPE scaling is supported");
      }
      float[] factors = f.read("rope_freqs.weight", ropeDim / 2);
      scaling = config(f.path(), () -> RopeScaling.freqFactors(factors));
    }
    return scaling;
  }

  /** HF {@code rope_scaling}: null, or an object whose {@code rope_type} (or {@code type}) is supported. */
  private static RopeScaling hfRopeScaling(Path file, JsonNode node) {
    if (node == null || node.isNull()) {
      return RopeScaling.NONE;
    }
    if (!node.isObject()) {
      throw new ModelLoadException(file + ": 'rope_scaling' is " + node + " but must be null or an object");
    }
    String typeKey = node.has("rope_type") ? "rope_type" : "type";
    String type = node.path(typeKey).asText("");
    return config(file, () -> switch (type) {
      case "default" -> RopeScaling.NONE;
      case "linear" -> RopeScaling.linear(hfNumber(file, node, "factor"));
      case "llama3" -> RopeScaling.llama3(hfNumber(file, node, "factor"), hfNumber(file, node, "low_freq_factor"),
          hfNumber(file, node, "high_freq_factor"), (int) Math.min(Integer.MAX_VALUE,
              hfNumber(file, node, "original_max_position_embeddings")));
      default -> throw new ModelLoadException(file + ": 'rope_scaling." + typeKey + "' is '" + type
          + "' but must be one of default, linear, llama3");
    });
  }

  private static double hfNumber(Path file, JsonNode scaling, String key) {
    JsonNode v = scaling.get(key);
    if (v == null || !v.isNumber()) {
      throw new ModelLoadException(file + ": 'rope_scaling." + key + "' is " + (v == null ? "missing" : v)
          + " but must be a number");
    }
    return v.asDouble();
  }

  /** Mistral's {@code sliding_window}; Qwen2 windows apply only with {@code use_sliding_window}. */
  private static int hfSlidingWindow(Path file, JsonNode cfg, String type) {
    if (type.equals("qwen2")) {
      if (cfg.path("use_sliding_window").asBoolean(false)) {
        throw new ModelLoadException(file + ": 'use_sliding_window' is true; Qwen2's per-layer sliding window "
            + "(max_window_layers) is not supported");
      }
      return 0;
    }
    return cfg.hasNonNull("sliding_window") ? hfInt(file, cfg, "sliding_window", null) : 0;
  }

  private static int hfInt(Path file, JsonNode cfg, String key, Integer dflt) {
    JsonNode v = cfg.get(key);
    if (v == null || v.isNull()) {
      if (dflt == null) {
        throw new ModelLoadException(file + ": '" + key + "' is missing");
      }
      return dflt;
    }
    if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() <= 0) {
      throw new ModelLoadException(file + ": '" + key + "' is set to " + v + " but must be an integer > 0");
    }
    return v.asInt();
  }

  private static <T> T config(Path file, java.util.function.Supplier<T> make) {
    try {
      return make.get();
    } catch (ModelLoadException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new ModelLoadException(file + ": " + e.getMessage(), e);
    }
  }

  private record Names(String embedding, String outputNorm, String output, String attnNorm, String q,
      String k, String v, String qBias, String kBias, String vBias, String o, String ffnNorm, String gate,
      String up, String down) {
  }

  private static LlamaWeights weights(TensorSource src, LlamaConfig c, Names n) {
    int d = c.hiddenSize();
    int ffn = c.intermediateSize();
    WeightMatrix emb = src.matrix(n.embedding(), c.vocabSize(), d);
    List<LlamaWeights.Layer> layers = new ArrayList<>();
    for (int l = 0; l < c.numLayers(); l++) {
      WeightMatrix wqkv = WeightMatrix.stack(src.matrix(n.q().formatted(l), c.qDim(), d),
          src.matrix(n.k().formatted(l), c.kvDim(), d), src.matrix(n.v().formatted(l), c.kvDim(), d));
      float[] bqkv = null;
      if (c.qkvBias()) {
        bqkv = concat(src.read(n.qBias().formatted(l), c.qDim()),
            src.read(n.kBias().formatted(l), c.kvDim()), src.read(n.vBias().formatted(l), c.kvDim()));
      }
      WeightMatrix gateUp = WeightMatrix.stack(src.matrix(n.gate().formatted(l), ffn, d),
          src.matrix(n.up().formatted(l), ffn, d));
      layers.add(new LlamaWeights.Layer(src.read(n.attnNorm().formatted(l), d), wqkv, bqkv,
          src.matrix(n.o().formatted(l), d, c.qDim()), src.read(n.ffnNorm().formatted(l), d), gateUp,
          src.matrix(n.down().formatted(l), d, ffn)));
    }
    WeightMatrix out = c.tiedOutput() ? emb : src.matrix(n.output(), c.vocabSize(), d);
    return new LlamaWeights(emb, layers, src.read(n.outputNorm(), d), out);
  }

  private static float[] concat(float[]... parts) {
    int len = 0;
    for (float[] p : parts) {
      len = Math.addExact(len, p.length);
    }
    float[] out = new float[len];
    int at = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  private static TextTokenizer ggufTokenizer(GgufFile f) {
    if (!"llama".equals(f.metadata().get("tokenizer.ggml.model"))) {
      return null;
    }
    Object tokens = f.metadata().get("tokenizer.ggml.tokens");
    Object scores = f.metadata().get("tokenizer.ggml.scores");
    Object types = f.metadata().get("tokenizer.ggml.token_type");
    if (!(tokens instanceof String[] t) || !(scores instanceof float[] s)
        || (types != null && !(types instanceof long[]))) {
      throw new ModelLoadException(f.path() + ": 'tokenizer.ggml.tokens' (strings), 'tokenizer.ggml.scores'"
          + " (floats) and 'tokenizer.ggml.token_type' (integers) are required for an SPM tokenizer");
    }
    try {
      return new SpmTokenizer(f.path().toString(), t, s, (long[]) types,
          (int) longOr(f, "tokenizer.ggml.unknown_token_id", 0), (int) longOr(f, "tokenizer.ggml.bos_token_id", 1),
          boolOr(f, "tokenizer.ggml.add_bos_token", true), boolOr(f, "tokenizer.ggml.add_space_prefix", true));
    } catch (IllegalArgumentException e) {
      throw new ModelLoadException(f.path() + ": " + e.getMessage(), e);
    }
  }

  private static long longOr(GgufFile f, String key, long dflt) {
    return f.metadata().containsKey(key) ? f.getLong(key) : dflt;
  }

  private static boolean boolOr(GgufFile f, String key, boolean dflt) {
    return f.metadata().get(key) instanceof Boolean b ? b : dflt;
  }

  /** SHA-256 (hex) over the files' bytes in order, streamed. */
  public static String sha256(List<Path> files) {
    try {
      return Sha256.ofFiles(files);
    } catch (IOException e) {
      throw new ModelLoadException("cannot hash " + files + ": " + e.getMessage(), e);
    }
  }

}
