package io.thetacal.model.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.thetacal.model.MappedBytes;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.gguf.GgufFile;
import io.thetacal.model.safetensors.SafetensorsFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The hand-made seeds of the fuzz corpus are what their names say, so the fuzzer starts from valid files. */
class FuzzSeedsTest {
  private static final String DIR = "CheckpointParserFuzzTestInputs/";

  static MappedBytes seed(String name) throws IOException {
    try (InputStream in = FuzzSeedsTest.class.getResourceAsStream(DIR + name)) {
      return MappedBytes.wrap(Path.of(name), ByteBuffer.wrap(in.readAllBytes()));
    }
  }

  @Test
  void validGgufSeedParsesAllThreeTensorTypes() throws IOException {
    GgufFile f = GgufFile.parse(seed("gguf/valid-small"));
    assertArrayEquals(new float[] {1, 2, 3, 4}, f.read("a", 4));
    assertArrayEquals(new float[] {1, 2, -2, 0.5f}, f.read("b", 2, 2));
    float[] q = f.read("q", 32);
    // Q8_0 scale 0x2000 = 2^-7, values 0..31
    assertEquals(31 / 128f, q[31]);
    assertArrayEquals(new String[] {"<s>", "\u2581a", "b"}, (String[]) f.metadata().get("tokenizer.ggml.tokens"));
    assertThrows(ModelLoadException.class, () -> GgufFile.parse(seed("gguf/truncated-header")));
  }

  @Test
  void validSafetensorsSeedParses() throws IOException {
    SafetensorsFile f = SafetensorsFile.parse(seed("safetensors/valid-small"));
    assertArrayEquals(new float[] {1, 2}, f.read("a", 2));
    assertArrayEquals(new float[] {1, 2}, f.read("b", 1, 2));
    assertArrayEquals(new float[] {1, 3}, f.read("c", 2));
    assertThrows(ModelLoadException.class, () -> SafetensorsFile.parse(seed("safetensors/bad-offsets")));
  }
}
