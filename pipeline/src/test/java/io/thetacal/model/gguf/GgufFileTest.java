package io.thetacal.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.model.MappedBytes;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.TensorType;
import io.thetacal.model.llama.LlamaModels;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufFileTest {
  static final Path DIR = Path.of(System.getProperty("thetacal.shared.dir", "../../shared"))
      .resolve("golden/tiny-llama");
  static final Path F32 = DIR.resolve("tiny-llama-f32.gguf");

  @TempDir
  Path tmp;

  static GgufFile parse(byte[] bytes) {
    return GgufFile.parse(MappedBytes.wrap(Path.of("crafted.gguf"), ByteBuffer.wrap(bytes)));
  }

  static String failure(byte[] bytes) {
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> parse(bytes));
    assertTrue(e.getMessage().contains("crafted.gguf"), e.getMessage());
    return e.getMessage();
  }

  @Test
  void readsMetadataOfAllTypesAndTensorInfos() {
    GgufFile f = GgufFile.open(F32);
    assertEquals(3, f.version());
    assertEquals(32, f.alignment());
    assertEquals("llama", f.getString("general.architecture"));
    assertEquals(64, f.getLong("llama.embedding_length"));
    assertEquals(1e-5, f.getDouble("llama.attention.layer_norm_rms_epsilon", 0), 1e-12);
    String[] tokens = (String[]) f.metadata().get("tokenizer.ggml.tokens");
    assertEquals(300, tokens.length);
    assertEquals("\u2581the", tokens[294]);
    assertEquals(-35f, ((float[]) f.metadata().get("tokenizer.ggml.scores"))[294]);
    assertEquals(6, ((long[]) f.metadata().get("tokenizer.ggml.token_type"))[3]);
    assertEquals(Boolean.TRUE, f.metadata().get("tokenizer.ggml.add_bos_token"));
    assertEquals(30, f.tensors().size());
    assertArrayEquals(new long[] {16, 64}, f.tensors().get("blk.0.attn_k.weight").shape());
    assertEquals(TensorType.F32, f.tensors().get("blk.0.attn_k.weight").type());
    assertEquals(0, f.dataStart() % 32);
  }

  @Test
  void q8TensorsDecodeCloseToF32() {
    GgufFile f32 = GgufFile.open(F32);
    GgufFile q8 = GgufFile.open(DIR.resolve("tiny-llama-q8_0.gguf"));
    assertEquals(TensorType.Q8_0, q8.tensors().get("output.weight").type());
    float[] a = f32.read("blk.1.ffn_up.weight");
    float[] b = q8.read("blk.1.ffn_up.weight");
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    // Q8_0: per block scale = absmax / 127, so the error is at most half a step (≈ 0.4 / 254)
    assertTrue(max > 0 && max < 0.4 / 254 * 1.01, "max error " + max);
  }

  @Test
  void buildsAValidFileThatParses() {
    byte[] data = ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN)
        .putFloat(1).putFloat(2).putFloat(3).putFloat(4).array();
    GgufWriter w = new GgufWriter().header(1, 2)
        .str("general.architecture").u32(8).str("llama")
        .str("arr").u32(9).u32(4).u64(2).u32(7).u32(9)
        .tensor("t", 0, 0, 2, 2);
    GgufFile f = parse(w.data(data).toBytes());
    assertArrayEquals(new long[] {7, 9}, (long[]) f.metadata().get("arr"));
    assertArrayEquals(new float[] {1, 2, 3, 4}, f.read("t", 2, 2));
  }

  @Test
  void hugeDeclaredCountsFailBeforeAllocating() {
    assertTrue(failure(new GgufWriter().header(1L << 62, 0).toBytes()).contains("tensor count"));
    assertTrue(failure(new GgufWriter().header(0, Long.MAX_VALUE).toBytes())
        .contains("metadata key/value count"));
    assertTrue(failure(new GgufWriter().header(0, -1).toBytes()).contains("metadata key/value count"));
    String arr = failure(new GgufWriter().header(0, 1).str("a").u32(9).u32(6).u64(1L << 40).toBytes());
    assertTrue(arr.contains("element count"), arr);
    String str = failure(new GgufWriter().header(0, 1).u64(1L << 50).bytes(new byte[32]).toBytes());
    assertTrue(str.contains("length"), str);
  }

  @Test
  void negativeOrOverflowingDimensionsFail() {
    String neg = failure(new GgufWriter().header(1, 0).tensor("w", 0, 0, -5).data(new byte[64]).toBytes());
    assertTrue(neg.contains("'w'") && neg.contains("dimension 0"), neg);
    String zero = failure(new GgufWriter().header(1, 0).tensor("w", 0, 0, 0).data(new byte[64]).toBytes());
    assertTrue(zero.contains("must be > 0"), zero);
    String ovf = failure(new GgufWriter().header(1, 0)
        .tensor("w", 0, 0, 1L << 32, 1L << 32, 1L << 32).data(new byte[64]).toBytes());
    assertTrue(ovf.contains("overflows"), ovf);
    String big = failure(new GgufWriter().header(1, 0).tensor("w", 0, 0, 1L << 40).data(new byte[64]).toBytes());
    assertTrue(big.contains("needs 4398046511104 bytes"), big);
    String dims = failure(new GgufWriter().header(1, 0).str("w").u32(99).bytes(new byte[32]).toBytes());
    assertTrue(dims.contains("99 dimensions"), dims);
  }

  @Test
  void offsetsPastTheEndFail() {
    String msg = failure(new GgufWriter().header(1, 0).tensor("w", 0, 1L << 20, 4).data(new byte[16]).toBytes());
    assertTrue(msg.contains("'w'") && msg.contains("data section"), msg);
    String unaligned = failure(new GgufWriter().header(1, 0).tensor("w", 0, 3, 1).data(new byte[16]).toBytes());
    assertTrue(unaligned.contains("alignment"), unaligned);
  }

  @Test
  void unknownTypesFail() {
    String t = failure(new GgufWriter().header(1, 0).tensor("w", 999, 0, 4).data(new byte[16]).toBytes());
    assertTrue(t.contains("999") && t.contains("unknown"), t);
    String q4 = failure(new GgufWriter().header(1, 0).tensor("w", 12, 0, 256).data(new byte[256]).toBytes());
    assertTrue(q4.contains("not supported"), q4);
    String v = failure(new GgufWriter().header(0, 1).str("k").u32(77).toBytes());
    assertTrue(v.contains("value type id 77"), v);
    String magic = failure(new byte[] {'G', 'G', 'M', 'L', 3, 0, 0, 0});
    assertTrue(magic.contains("not a GGUF file"), magic);
    String version = failure(new GgufWriter().u32(GgufFile.MAGIC).u32(1).toBytes());
    assertTrue(version.contains("version 1"), version);
  }

  @Test
  void invalidUtf8InKeysAndValuesFails() {
    byte[] bad = {'k', (byte) 0xC3, (byte) 0x28};
    assertTrue(failure(new GgufWriter().header(0, 1).rawStr(bad).u32(4).u32(1).toBytes())
        .contains("not valid UTF-8"));
    assertTrue(failure(new GgufWriter().header(0, 1).str("k").u32(8).rawStr(new byte[] {(byte) 0xFF})
        .toBytes()).contains("not valid UTF-8"));
  }

  @Test
  void truncationAtAnyByteFailsWithModelLoadException() throws Exception {
    byte[] full = Files.readAllBytes(F32);
    GgufFile whole = parse(full);
    int header = (int) whole.dataStart();
    int checked = 0;
    for (int cut = 0; cut < full.length; cut += cut < header + 64 ? 1 : 509) {
      byte[] part = Arrays.copyOf(full, cut);
      ModelLoadException e = assertThrows(ModelLoadException.class, () -> parse(part), "cut at " + cut);
      assertTrue(e.getMessage().contains("crafted.gguf"), e.getMessage());
      checked++;
    }
    assertTrue(checked > header);
    Path truncated = tmp.resolve("truncated.gguf");
    Files.write(truncated, Arrays.copyOf(full, full.length - 1));
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> LlamaModels.load(truncated));
    assertTrue(e.getMessage().contains("truncated.gguf") && e.getMessage().contains("output"), e.getMessage());
  }

  @Test
  void missingMetadataIsNamed() throws Exception {
    Path f = tmp.resolve("nometa.gguf");
    Files.write(f, new GgufWriter().header(0, 1).str("general.architecture").u32(8).str("llama").toBytes());
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> LlamaModels.load(f));
    assertTrue(e.getMessage().contains("'llama.embedding_length' is missing"), e.getMessage());
  }
}
