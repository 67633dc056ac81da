package io.thetacal.jobs.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.TextTokenizer;
import io.thetacal.model.TransformerModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The per-JVM cache through which Spark tasks reach models and tokenizers: each executor JVM loads a
 * model (or tokenizer) once, on first use, and every later task on that JVM reuses it. Keyed by model id
 * or path.
 */
public final class ExecutorModels {
  /** Built-in tokenizer resources by model id (the model jars on the classpath hold them). */
  private static final Map<String, String> TOKENIZER_RESOURCES = Map.of(
      "all-minilm-l6-v2", "/all-minilm-l6-v2-tokenizer.json",
      "bge-small-en-v15", "/bge-small-en-v15-tokenizer.json",
      "e5-small-v2", "/e5-small-v2-tokenizer.json");

  private static final ConcurrentHashMap<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();
  private static final ConcurrentHashMap<String, TransformerModel> MODELS = new ConcurrentHashMap<>();
  private static final AtomicInteger TOKENIZER_LOADS = new AtomicInteger();
  private static final AtomicInteger MODEL_LOADS = new AtomicInteger();

  private ExecutorModels() {
  }

  /** The tokenizer of a model, with the size of its vocabulary. */
  public record Tokenizer(TextTokenizer tokenizer, int vocabSize) {
  }

  /** The cached tokenizer of model {@code id}, loaded on first use in this JVM. */
  public static Tokenizer tokenizer(String id) {
    return TOKENIZERS.computeIfAbsent(id, ExecutorModels::loadTokenizer);
  }

  /** The cached model {@code id}, loaded on first use in this JVM. */
  public static TransformerModel model(String id) {
    return MODELS.computeIfAbsent(id, ExecutorModels::loadModel);
  }

  /** How many tokenizers this JVM has loaded (tests pin load-once behaviour with it). */
  public static int tokenizerLoads() {
    return TOKENIZER_LOADS.get();
  }

  /** How many models this JVM has loaded. */
  public static int modelLoads() {
    return MODEL_LOADS.get();
  }

  private static TransformerModel loadModel(String id) {
    MODEL_LOADS.incrementAndGet();
    throw new ModelLoadException("Model loading is not available in this build: cannot load '" + id + "'");
  }

  private static Tokenizer loadTokenizer(String id) {
    TOKENIZER_LOADS.incrementAndGet();
    try {
      byte[] json;
      String name;
      String resource = TOKENIZER_RESOURCES.get(id);
      if (resource != null) {
        try (InputStream in = ExecutorModels.class.getResourceAsStream(resource)) {
          if (in == null) {
            throw new ModelLoadException("Tokenizer of model '" + id + "' not found on the classpath ("
                + resource + "); is the model's jar among the application jars?");
          }
          json = in.readAllBytes();
        }
        name = id + ":" + resource;
      } else {
        Path p = Path.of(id);
        Path file = Files.isDirectory(p) ? p.resolve("tokenizer.json") : p;
        if (!Files.isRegularFile(file)) {
          throw new ModelLoadException("Unknown model '" + id + "': not a built-in id "
              + TOKENIZER_RESOURCES.keySet() + " and no tokenizer.json at " + file);
        }
        json = Files.readAllBytes(file);
        name = file.toString();
      }
      HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(new java.io.ByteArrayInputStream(json),
          Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true"));
      int vocab = vocabSize(new ObjectMapper().readTree(json));
      String tokenizerName = name;
      TextTokenizer t = new TextTokenizer() {
        @Override
        public int[] encode(String text) {
          long[] ids = hf.encode(text).getIds();
          int[] out = new int[ids.length];
          for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
          }
          return out;
        }

        @Override
        public String name() {
          return tokenizerName;
        }
      };
      return new Tokenizer(t, vocab);
    } catch (IOException e) {
      throw new ModelLoadException("Cannot load the tokenizer of model '" + id + "': " + e.getMessage(), e);
    }
  }

  private static int vocabSize(JsonNode tokenizerJson) {
    int max = -1;
    JsonNode vocab = tokenizerJson.path("model").path("vocab");
    if (vocab.isObject()) {
      for (Iterator<JsonNode> it = vocab.elements(); it.hasNext(); ) {
        max = Math.max(max, it.next().asInt());
      }
    } else if (vocab.isArray()) {
      max = vocab.size() - 1;
    }
    for (JsonNode added : tokenizerJson.path("added_tokens")) {
      max = Math.max(max, added.path("id").asInt());
    }
    if (max < 0) {
      throw new ModelLoadException("tokenizer.json has no model.vocab");
    }
    return max + 1;
  }
}
