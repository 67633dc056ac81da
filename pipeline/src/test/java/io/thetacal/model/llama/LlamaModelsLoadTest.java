package io.thetacal.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.io.RawFloats;
import io.thetacal.model.ModelLoadException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaModelsLoadTest {
  @TempDir
  Path tmp;

  private Path hfCopy() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("hf"));
    Files.copy(Golden.file("hf/config.json"), dir.resolve("config.json"));
    Files.copy(Golden.file("hf/model.safetensors"), dir.resolve("model.safetensors"));
    return dir;
  }

  @Test
  void hfDirectoryWithTokenizerJsonUsesTheHuggingFaceTokenizer() throws Exception {
    Path dir = hfCopy();
    try (InputStream in = getClass().getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
      Files.copy(in, dir.resolve("tokenizer.json"));
    }
    LlamaModel model = LlamaModels.load(dir);
    assertTrue(model.hasTokenizer());
    // a BERT WordPiece vocabulary: [CLS] hello [SEP]
    assertArrayEquals(new int[] {101, 7592, 102}, model.tokenizer().encode("hello"));
    assertFalse(LlamaModels.load(Golden.file("hf")).hasTokenizer());
  }

  @Test
  void tiedEmbeddingsAreUsedWhenLmHeadIsAbsentOrTied() throws Exception {
    Path dir = hfCopy();
    String cfg = Files.readString(dir.resolve("config.json")).replace("\"tie_word_embeddings\": false",
        "\"tie_word_embeddings\": true");
    Files.writeString(dir.resolve("config.json"), cfg);
    LlamaModel tied = LlamaModels.load(dir);
    assertTrue(tied.config().tiedOutput());
    assertTrue(tied.weights().output() == tied.weights().embedding());
  }

  @Test
  void badConfigValuesAreNamed() throws Exception {
    Path dir = hfCopy();
    String cfg = Files.readString(dir.resolve("config.json"));
    Files.writeString(dir.resolve("config.json"), cfg.replace("\"num_key_value_heads\": 2",
        "\"num_key_value_heads\": 3"));
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> LlamaModels.load(dir));
    assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("'numKvHeads' is set to 3"),
        e.getMessage());
    Files.writeString(dir.resolve("config.json"), cfg.replace("\"hidden_size\": 64", "\"hidden_size\": -64"));
    e = assertThrows(ModelLoadException.class, () -> LlamaModels.load(dir));
    assertTrue(e.getMessage().contains("'hidden_size' is set to -64 but must be an integer > 0"), e.getMessage());
    Files.writeString(dir.resolve("config.json"), cfg.replace("\"intermediate_size\": 160", "\"intermediate_size\": 128"));
    e = assertThrows(ModelLoadException.class, () -> LlamaModels.load(dir));
    assertTrue(e.getMessage().contains("mlp.gate_proj.weight") && e.getMessage().contains("[160, 64]"),
        e.getMessage());
    assertThrows(ModelLoadException.class, () -> LlamaModels.load(tmp.resolve("nope.gguf")));
  }

  @Test
  void qkvBiasesShiftTheProjections() {
    LlamaModel base = LlamaModels.load(Golden.file("tiny-llama-f32.gguf"));
    LlamaConfig c = base.config();
    LlamaConfig withBias = new LlamaConfig(c.vocabSize(), c.hiddenSize(), c.intermediateSize(), c.numLayers(),
        c.numHeads(), c.numKvHeads(), c.headDim(), c.ropeDim(), c.ropeTheta(), c.rmsNormEps(), c.maxPositions(),
        c.ropeLayout(), c.tiedOutput(), true);
    int width = c.qDim() + 2 * c.kvDim();
    java.util.List<LlamaWeights.Layer> zeroBias = new java.util.ArrayList<>();
    java.util.List<LlamaWeights.Layer> vBias = new java.util.ArrayList<>();
    for (LlamaWeights.Layer l : base.weights().layers()) {
      zeroBias.add(new LlamaWeights.Layer(l.attnNorm(), l.wqkv(), new float[width], l.wo(), l.ffnNorm(),
          l.wGateUp(), l.wDown()));
      float[] b = new float[width];
      java.util.Arrays.fill(b, c.qDim() + c.kvDim(), width, 0.5f);
      vBias.add(new LlamaWeights.Layer(l.attnNorm(), l.wqkv(), b, l.wo(), l.ffnNorm(), l.wGateUp(), l.wDown()));
    }
    LlamaWeights w = base.weights();
    float[] ref = LlamaGoldenLogitsTest.logits(base);
    LlamaModel zero = new LlamaModel(base.info(), withBias,
        new LlamaWeights(w.embedding(), zeroBias, w.outputNorm(), w.output()), null);
    assertArrayEquals(ref, LlamaGoldenLogitsTest.logits(zero));
    LlamaModel shifted = new LlamaModel(base.info(), withBias,
        new LlamaWeights(w.embedding(), vBias, w.outputNorm(), w.output()), null);
    assertTrue(Golden.maxAbsDiff(ref, LlamaGoldenLogitsTest.logits(shifted)) > 1e-3);
  }

  @Test
  void rawFloatsRoundTripInLlamaCppLayout() throws Exception {
    float[] logits = LlamaGoldenLogitsTest.logits(LlamaModels.load(Golden.file("tiny-llama-f32.gguf")));
    Path out = tmp.resolve("logits.f32");
    RawFloats.write(out, logits);
    assertEquals(Files.size(Golden.file("logits-f32.f32")), Files.size(out));
    assertArrayEquals(logits, RawFloats.read(out));
  }
}
