package io.thetacal.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.model.MappedBytes;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.TensorType;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
  static final Path HF = Path.of(System.getProperty("thetacal.shared.dir", "../../shared"))
      .resolve("golden/tiny-llama/hf");

  @TempDir
  Path tmp;

  static byte[] file(String header, int dataBytes) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    return file(h, dataBytes);
  }

  static byte[] file(byte[] h, int dataBytes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
    out.writeBytes(h);
    out.writeBytes(new byte[dataBytes]);
    return out.toByteArray();
  }

  static SafetensorsFile parse(byte[] bytes) {
    return SafetensorsFile.parse(MappedBytes.wrap(Path.of("crafted.safetensors"), ByteBuffer.wrap(bytes)));
  }

  static String failure(byte[] bytes) {
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> parse(bytes));
    assertTrue(e.getMessage().contains("crafted.safetensors"), e.getMessage());
    return e.getMessage();
  }

  @Test
  void readsTheGoldenHeader() {
    SafetensorsFile f = SafetensorsFile.open(HF.resolve("model.safetensors"));
    assertEquals(Map.of("format", "pt"), f.metadata());
    assertEquals(30, f.tensors().size());
    assertArrayEquals(new long[] {16, 64}, f.tensors().get("model.layers.0.self_attn.k_proj.weight").shape());
    assertEquals(TensorType.F32, f.tensors().get("lm_head.weight").type());
  }

  @Test
  void validSmallFileParsesAllDtypes() {
    String h = "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
        + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[4,8]},"
        + "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12]}}";
    byte[] bytes = file(h, 12);
    int d = 8 + h.length();
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putShort(d, (short) 0x3c00)
        .putShort(d + 2, (short) 0xc000).putShort(d + 4, (short) 0x3f80).putShort(d + 6, (short) 0x4040)
        .putFloat(d + 8, 2.5f);
    SafetensorsFile f = parse(bytes);
    assertArrayEquals(new float[] {1, -2}, f.read("a", 2));
    assertArrayEquals(new float[] {1, 3}, f.read("b", 1, 2));
    assertArrayEquals(new float[] {2.5f}, f.read("s"));
  }

  @Test
  void hugeOrShortHeaderLengthsFail() {
    byte[] huge = new byte[16];
    ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE);
    assertTrue(failure(huge).contains("header length"));
    ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -8);
    assertTrue(failure(huge).contains("header length"));
    assertTrue(failure(new byte[5]).contains("too short"));
  }

  @Test
  void shapesSizesAndOffsetsAreCheckedAgainstTheFile() {
    assertTrue(failure(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4))
        .contains(">= 0"));
    assertTrue(failure(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
        + "\"data_offsets\":[0,4]}}", 4)).contains("overflows"));
    assertTrue(failure(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776],"
        + "\"data_offsets\":[0,4398046511104]}}", 4)).contains("outside the data section"));
    assertTrue(failure(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4))
        .contains("needs 8 bytes"));
    assertTrue(failure(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 4))
        .contains("outside the data section"));
    assertTrue(failure(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)).contains("overlapping"));
  }

  @Test
  void unknownDtypesAndMalformedJsonFail() {
    String q = failure(file("{\"w\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4));
    assertTrue(q.contains("'I8'") && q.contains("not supported"), q);
    assertTrue(failure(file("{\"w\":", 0)).contains("malformed"));
    assertTrue(failure(file("[1,2]", 0)).contains("must be an object"));
    byte[] badUtf8 = "{\"w\u00e9\":{}}".getBytes(StandardCharsets.UTF_8);
    badUtf8[3] = (byte) 0xC3;
    badUtf8[4] = (byte) 0x28;
    assertTrue(failure(file(badUtf8, 0)).contains("malformed"));
    assertTrue(failure(file("{\"__metadata__\":{\"a\":1}}", 0)).contains("__metadata__"));
    String dup = failure(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
    assertTrue(dup.contains("Duplicate field 'w'"), dup);
  }

  @Test
  void truncationAtAnyByteFailsWithModelLoadException() throws Exception {
    byte[] full = Files.readAllBytes(HF.resolve("model.safetensors"));
    long header = ByteBuffer.wrap(full).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    for (int cut = 0; cut < full.length; cut += cut < header + 72 ? 1 : 509) {
      byte[] part = Arrays.copyOf(full, cut);
      assertThrows(ModelLoadException.class, () -> parse(part), "cut at " + cut);
    }
  }

  @Test
  void indexNamingAMissingShardFails() throws Exception {
    Files.copy(HF.resolve("config.json"), tmp.resolve("config.json"));
    Files.writeString(tmp.resolve(SafetensorsCheckpoint.INDEX),
        "{\"weight_map\":{\"lm_head.weight\":\"model-00001-of-00002.safetensors\"}}");
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> SafetensorsCheckpoint.open(tmp));
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    Files.writeString(tmp.resolve(SafetensorsCheckpoint.INDEX),
        "{\"weight_map\":{\"lm_head.weight\":\"../model.safetensors\"}}");
    e = assertThrows(ModelLoadException.class, () -> SafetensorsCheckpoint.open(tmp));
    assertTrue(e.getMessage().contains("must be a file name"), e.getMessage());
  }
}
