package io.thetacal.model.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.model.ForwardRequest;
import io.thetacal.model.ForwardResult;
import io.thetacal.model.ModelFamily;
import io.thetacal.model.TensorType;
import io.thetacal.model.safetensors.SafetensorsCheckpoint;
import io.thetacal.model.safetensors.SafetensorsFile;
import io.thetacal.model.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaGoldenLogitsTest {
  @TempDir
  Path tmp;

  static float[] logits(LlamaModel model) {
    ForwardResult r = model.forward(ForwardRequest.of(List.of(Golden.tokens())));
    return r.sequences().get(0).logits();
  }

  static double correlation(float[] a, float[] b) {
    double ma = 0;
    double mb = 0;
    for (int i = 0; i < a.length; i++) {
      ma += a[i];
      mb += b[i];
    }
    ma /= a.length;
    mb /= b.length;
    double sab = 0;
    double saa = 0;
    double sbb = 0;
    for (int i = 0; i < a.length; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / Math.sqrt(saa * sbb);
  }

  @Test
  void f32GgufReproducesLlamaCppLogits() {
    LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-f32.gguf"));
    assertEquals(ModelFamily.DECODER, model.info().family());
    assertEquals("gguf", model.info().format());
    assertEquals(3, model.info().numLayers());
    assertEquals(8, model.info().numHeads());
    assertEquals(2, model.info().numKvHeads());
    assertEquals(300, model.info().vocabSize());
    assertEquals(RopeLayout.ADJACENT_PAIRS, model.config().ropeLayout());
    assertFalse(model.config().tiedOutput());
    double diff = Golden.maxAbsDiff(logits(model), Golden.floats("logits-f32.f32"));
    assertTrue(diff <= 1e-4, "max abs diff " + diff);
  }

  @Test
  void hfSafetensorsReproducesLlamaCppLogitsWithRotateHalfRope() {
    LlamaModel model = LlamaModels.load(Golden.file("hf"));
    assertEquals("safetensors", model.info().format());
    assertEquals(RopeLayout.ROTATE_HALF, model.config().ropeLayout());
    double diff = Golden.maxAbsDiff(logits(model), Golden.floats("logits-f32.f32"));
    assertTrue(diff <= 1e-4, "max abs diff " + diff);
    LlamaModel viaConfig = LlamaModels.load(Golden.file("hf/config.json"));
    assertArrayEquals(logits(model), logits(viaConfig));
    assertEquals(model.info().contentHash(), viaConfig.info().contentHash());
  }

  @Test
  void f16GgufMatchesLlamaCppF16Logits() {
    LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-f16.gguf"));
    double diff = Golden.maxAbsDiff(logits(model), Golden.floats("logits-f16.f32"));
    assertTrue(diff <= 1e-2, "max abs diff " + diff);
  }

  @Test
  void q8GgufIsCloseToLlamaCppQ8Logits() {
    LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-q8_0.gguf"));
    float[] ours = logits(model);
    float[] ref = Golden.floats("logits-q8_0.f32");
    double diff = Golden.maxAbsDiff(ours, ref);
    double corr = correlation(ours, ref);
    assertTrue(diff <= 0.3, "max abs diff " + diff);
    assertTrue(corr > 0.99, "correlation " + corr);
  }

  @Test
  void contentHashIsSha256OfTheWeightFile() throws Exception {
    LlamaModel model = LlamaModels.load(Golden.file("tiny-llama-f32.gguf"));
    byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
        .digest(Files.readAllBytes(Golden.file("tiny-llama-f32.gguf")));
    assertEquals(java.util.HexFormat.of().formatHex(digest), model.info().contentHash());
  }

  private Path convertHf(TensorType type, String name) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    Files.copy(Golden.file("hf/config.json"), dir.resolve("config.json"));
    SafetensorsWriter.write(dir.resolve("model.safetensors"),
        SafetensorsFile.open(Golden.file("hf/model.safetensors")), null, type);
    return dir;
  }

  @Test
  void f16AndBf16SafetensorsLoadCloseToF32() throws IOException {
    float[] ref = Golden.floats("logits-f32.f32");
    float[] f16 = logits(LlamaModels.load(convertHf(TensorType.F16, "f16")));
    double d16 = Golden.maxAbsDiff(f16, ref);
    assertTrue(d16 <= 2e-2, "F16 max abs diff " + d16);
    float[] bf16 = logits(LlamaModels.load(convertHf(TensorType.BF16, "bf16")));
    double dbf = Golden.maxAbsDiff(bf16, ref);
    double corr = correlation(bf16, ref);
    assertTrue(dbf <= 0.3 && corr > 0.99, "BF16 max abs diff " + dbf + ", correlation " + corr);
    assertTrue(dbf > d16, "BF16 (8-bit mantissa) should be coarser than F16: " + dbf + " vs " + d16);
  }

  @Test
  void f32SafetensorsRewrittenByTheWriterIsBitIdentical() throws IOException {
    float[] a = logits(LlamaModels.load(Golden.file("hf")));
    float[] b = logits(LlamaModels.load(convertHf(TensorType.F32, "f32")));
    assertArrayEquals(a, b);
  }

  @Test
  void shardedCheckpointLoadsIdenticallyToSingleFile() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("sharded"));
    Files.copy(Golden.file("hf/config.json"), dir.resolve("config.json"));
    SafetensorsFile single = SafetensorsFile.open(Golden.file("hf/model.safetensors"));
    List<String> names = new ArrayList<>(single.tensors().keySet());
    List<String> first = names.subList(0, names.size() / 2);
    List<String> second = names.subList(names.size() / 2, names.size());
    String s1 = "model-00001-of-00002.safetensors";
    String s2 = "model-00002-of-00002.safetensors";
    SafetensorsWriter.write(dir.resolve(s1), single, first, TensorType.F32);
    SafetensorsWriter.write(dir.resolve(s2), single, second, TensorType.F32);
    Map<String, String> map = new LinkedHashMap<>();
    first.forEach(n -> map.put(n, s1));
    second.forEach(n -> map.put(n, s2));
    new com.fasterxml.jackson.databind.ObjectMapper().writeValue(
        dir.resolve(SafetensorsCheckpoint.INDEX).toFile(), Map.of("metadata", Map.of(), "weight_map", map));
    LlamaModel sharded = LlamaModels.load(dir);
    assertEquals(2, SafetensorsCheckpoint.open(dir).files().size());
    assertArrayEquals(logits(LlamaModels.load(Golden.file("hf"))), logits(sharded));
  }
}
