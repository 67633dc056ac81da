package io.thetacal.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Raw little-endian IEEE-754 float32 arrays without a header, the format llama.cpp tools dump tensors in
 * (e.g. logits [positions][vocab], row-major).
 */
public final class RawFloats {
  private RawFloats() {
  }

  /** Writes the values, row-major, replacing the file. */
  public static void write(Path file, float[] values) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    try (OutputStream out = Files.newOutputStream(file)) {
      for (float v : values) {
        if (!buf.hasRemaining()) {
          out.write(buf.array(), 0, buf.position());
          buf.clear();
        }
        buf.putFloat(v);
      }
      out.write(buf.array(), 0, buf.position());
    }
  }

  /** Reads a whole file; its size must be a multiple of 4. */
  public static float[] read(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    if (bytes.length % 4 != 0) {
      throw new IOException(file + " has " + bytes.length + " bytes, not a multiple of 4 (float32)");
    }
    float[] out = new float[bytes.length / 4];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }
}
