package io.thetacal.model;

import io.thetacal.io.Sha256;
import io.thetacal.model.bert.BertEncoder;
import io.thetacal.model.bert.BertGraphMapper;
import io.thetacal.model.bert.BertWeights;
import io.thetacal.model.llama.LlamaModels;
import io.thetacal.model.onnx.OnnxGraph;
import io.thetacal.model.onnx.OnnxReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Loads a model by short id (a pretrained model shipped on the classpath) or by file path. The one place
 * that decides which loader reads which format.
 */
public final class Models {
  /** The model used when none is named: all-MiniLM-L6-v2 (6 layers × 12 heads). */
  public static final String DEFAULT_ID = "all-minilm-l6-v2";

  /** Short id → classpath resource stem (the .onnx file and its "-tokenizer.json"). */
  private static final Map<String, String> BUILT_IN = new LinkedHashMap<>();

  static {
    BUILT_IN.put("all-minilm-l6-v2", "all-minilm-l6-v2");
    BUILT_IN.put("bge-small-en-v1.5", "bge-small-en-v1.5");
    BUILT_IN.put("e5-small-v2", "e5-small-v2");
  }

  private Models() {
  }

  /** The short ids {@link #load} accepts. */
  public static java.util.Set<String> knownIds() {
    return java.util.Collections.unmodifiableSet(BUILT_IN.keySet());
  }

  /**
   * Loads a model: a short id ({@link #knownIds()}) or a path: an .onnx encoder (with
   * {@code tokenizer.json} or {@code <stem>-tokenizer.json} beside it), a LLaMA-family .gguf file, or a
   * Hugging Face directory (config.json + *.safetensors, sharded index too).
   */
  public static TransformerModel load(String idOrPath) {
    if (idOrPath == null || idOrPath.isBlank()) {
      idOrPath = DEFAULT_ID;
    }
    String stem = BUILT_IN.get(idOrPath.toLowerCase(Locale.ROOT));
    if (stem != null) {
      return loadOnnxResource(idOrPath.toLowerCase(Locale.ROOT), stem);
    }
    Path path = Path.of(idOrPath);
    String file = path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase(Locale.ROOT);
    if (file.endsWith(".onnx")) {
      return loadOnnxFile(idOrPath, path);
    }
    if (file.endsWith(".gguf") || file.equals("config.json") || file.endsWith(".safetensors")
        || Files.isDirectory(path)) {
      return LlamaModels.load(file.endsWith(".safetensors") ? path.toAbsolutePath().getParent() : path);
    }
    throw new ModelLoadException("unknown model '" + idOrPath + "': expected one of the ids "
        + BUILT_IN.keySet() + ", a path to an .onnx file (with tokenizer.json or <stem>-tokenizer.json"
        + " beside it), a .gguf file, or a directory with config.json and *.safetensors");
  }

  private static TransformerModel loadOnnxResource(String id, String stem) {
    String onnx = stem + ".onnx";
    byte[] bytes;
    try (InputStream in = Models.class.getClassLoader().getResourceAsStream(onnx)) {
      if (in == null) {
        throw new ModelLoadException("classpath:" + onnx + ": model resource not found; is the artifact"
            + " dev.langchain4j:langchain4j-embeddings-" + stem.replace("v1.5", "v15").replace(".", "")
            + " on the classpath?");
      }
      bytes = in.readAllBytes();
    } catch (IOException e) {
      throw new ModelLoadException("classpath:" + onnx + ": cannot read: " + e.getMessage(), e);
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    String hash = Sha256.of(buf);
    OnnxGraph graph = OnnxReader.read(buf, "classpath:" + onnx);
    BertWeights w = BertGraphMapper.map(graph);
    TextTokenizer tok = HfTokenizer.fromResource(stem + "-tokenizer.json");
    return new BertEncoder(info(id, hash, w), tok, w);
  }

  private static TransformerModel loadOnnxFile(String id, Path path) {
    if (!Files.isRegularFile(path)) {
      throw new ModelLoadException(path + ": model file not found");
    }
    String stem = path.getFileName().toString().replaceFirst("(?i)\\.onnx$", "");
    Path dir = path.toAbsolutePath().getParent();
    Path tokenizer = dir.resolve(stem + "-tokenizer.json");
    if (!Files.isRegularFile(tokenizer)) {
      tokenizer = dir.resolve("tokenizer.json");
    }
    if (!Files.isRegularFile(tokenizer)) {
      throw new ModelLoadException(path + ": no tokenizer beside the model; expected "
          + dir.resolve("tokenizer.json") + " or " + dir.resolve(stem + "-tokenizer.json"));
    }
    OnnxGraph graph = OnnxReader.read(path);
    BertWeights w = BertGraphMapper.map(graph);
    String hash;
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      hash = Sha256.of(ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    TextTokenizer tok = HfTokenizer.fromFile(tokenizer);
    return new BertEncoder(info(id, hash, w), tok, w);
  }

  private static ModelInfo info(String id, String hash, BertWeights w) {
    return new ModelInfo(id, hash, "onnx", ModelFamily.ENCODER, w.layers().size(), w.numHeads(),
        w.numHeads(), w.headDim(), w.hiddenSize(), w.vocabSize(), w.maxPositions());
  }

}
