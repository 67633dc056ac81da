package io.thetacal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.thetacal.model.gguf.GgufFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class MappedBytesTest {
  private static final Path F32 = Path.of(System.getProperty("thetacal.shared.dir", "../../shared"))
      .resolve("golden/tiny-llama/tiny-llama-f32.gguf");
  private static final Path Q8 = F32.resolveSibling("tiny-llama-q8_0.gguf");

  @Test
  void chunkedMappingDecodesTheSameTensorsAsOneMapping() {
    for (Path p : new Path[] {F32, Q8}) {
      GgufFile whole = GgufFile.open(p);
      // 4 KiB chunks with 340-byte overlap: tensors straddle many chunk boundaries
      GgufFile chunked = GgufFile.parse(MappedBytes.open(p, 4096, 340));
      assertEquals(whole.tensors().keySet(), chunked.tensors().keySet());
      for (String name : whole.tensors().keySet()) {
        assertArrayEquals(whole.read(name), chunked.read(name), name);
      }
    }
  }

  @Test
  void readsPastTheEndFailWithTheFileName() {
    MappedBytes b = MappedBytes.open(F32);
    ModelLoadException e = assertThrows(ModelLoadException.class, () -> b.getLong(b.size() - 4, "x"));
    assertTrue(e.getMessage().contains("tiny-llama-f32.gguf"), e.getMessage());
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void halfPrecisionConversionsRoundTrip() {
    for (int h = 0; h < 1 << 16; h++) {
      float f = TensorType.halfToFloat(h);
      if (!Float.isNaN(f)) {
        assertEquals(h, TensorType.floatToHalf(f) & 0xffff, "half bits " + h);
      }
    }
    assertEquals(1f, TensorType.halfToFloat(0x3c00));
    assertEquals(65504f, TensorType.halfToFloat(0x7bff));
    assertEquals(0x3f80, TensorType.floatToBf16(1f) & 0xffff);
  }
}
