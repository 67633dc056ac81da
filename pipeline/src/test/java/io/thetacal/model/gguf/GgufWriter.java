package io.thetacal.model.gguf;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds GGUF byte streams field by field, valid or deliberately broken (test fixture). */
final class GgufWriter {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  GgufWriter u32(long v) {
    return bytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
  }

  GgufWriter u64(long v) {
    return bytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
  }

  GgufWriter f32(float v) {
    return bytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array());
  }

  GgufWriter str(String s) {
    return rawStr(s.getBytes(StandardCharsets.UTF_8));
  }

  GgufWriter rawStr(byte[] b) {
    u64(b.length);
    return bytes(b);
  }

  GgufWriter bytes(byte[] b) {
    out.writeBytes(b);
    return this;
  }

  /** Magic, version 3, counts. */
  GgufWriter header(long tensors, long kvs) {
    return u32(GgufFile.MAGIC).u32(3).u64(tensors).u64(kvs);
  }

  /** A 1-D or n-D tensor info. */
  GgufWriter tensor(String name, int type, long offset, long... ne) {
    str(name).u32(ne.length);
    for (long d : ne) {
      u64(d);
    }
    return u32(type).u64(offset);
  }

  /** Pads to the 32-byte alignment, then appends data. */
  GgufWriter data(byte[] data) {
    while (out.size() % GgufFile.DEFAULT_ALIGNMENT != 0) {
      out.write(0);
    }
    return bytes(data);
  }

  int size() {
    return out.size();
  }

  byte[] toBytes() {
    return out.toByteArray();
  }
}
