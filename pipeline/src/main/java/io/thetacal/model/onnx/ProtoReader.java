package io.thetacal.model.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A bounded reader of the protobuf wire format over a byte buffer. Every declared length is checked
 * against the bytes that remain, so a truncated or corrupt file fails with a message instead of a huge
 * allocation. Length-delimited fields are returned as zero-copy slices.
 */
final class ProtoReader {
  static final int VARINT = 0;
  static final int FIXED64 = 1;
  static final int LEN = 2;
  static final int FIXED32 = 5;

  private final ByteBuffer buf;
  private final String source;
  private final String what;

  ProtoReader(ByteBuffer buf, String source, String what) {
    this.buf = buf.slice().order(ByteOrder.LITTLE_ENDIAN);
    this.source = source;
    this.what = what;
  }

  boolean hasRemaining() {
    return buf.hasRemaining();
  }

  int position() {
    return buf.position();
  }

  /** Reads a field tag; returns it as (fieldNumber << 3 | wireType). */
  int readTag() {
    long tag = readVarint();
    if (tag <= 0 || tag > Integer.MAX_VALUE || (tag >>> 3) == 0) {
      throw corrupt("invalid field tag " + tag);
    }
    return (int) tag;
  }

  long readVarint() {
    long result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!buf.hasRemaining()) {
        throw corrupt("varint runs past the end of the data (truncated file?)");
      }
      byte b = buf.get();
      result |= (long) (b & 0x7f) << shift;
      if (b >= 0) {
        return result;
      }
    }
    throw corrupt("varint longer than 10 bytes");
  }

  int readFixed32() {
    need(4, "fixed32 value");
    return buf.getInt();
  }

  long readFixed64() {
    need(8, "fixed64 value");
    return buf.getLong();
  }

  /** A length-delimited payload as a little-endian slice; the length is checked against what remains. */
  ByteBuffer readBytes() {
    long len = readVarint();
    if (len < 0 || len > buf.remaining()) {
      throw corrupt("a field declares " + len + " bytes but only " + buf.remaining()
          + " remain (truncated file?)");
    }
    ByteBuffer slice = buf.slice().limit((int) len).order(ByteOrder.LITTLE_ENDIAN);
    buf.position(buf.position() + (int) len);
    return slice;
  }

  String readString() {
    ByteBuffer b = readBytes();
    byte[] arr = new byte[b.remaining()];
    b.get(arr);
    return new String(arr, java.nio.charset.StandardCharsets.UTF_8);
  }

  ProtoReader readMessage(String child) {
    return new ProtoReader(readBytes(), source, what + " > " + child);
  }

  void skip(int wireType) {
    switch (wireType) {
      case VARINT -> readVarint();
      case FIXED64 -> need(8, "fixed64 value");
      case LEN -> readBytes();
      case FIXED32 -> need(4, "fixed32 value");
      default -> throw corrupt("unsupported wire type " + wireType);
    }
    if (wireType == FIXED64) {
      buf.position(buf.position() + 8);
    } else if (wireType == FIXED32) {
      buf.position(buf.position() + 4);
    }
  }

  private void need(int n, String thing) {
    if (buf.remaining() < n) {
      throw corrupt(thing + " needs " + n + " bytes but only " + buf.remaining() + " remain");
    }
  }

  OnnxFormatException corrupt(String problem) {
    return new OnnxFormatException(source + ": not a valid ONNX model (" + what + " at byte "
        + buf.position() + "): " + problem);
  }

  /** Reads a repeated int64 field value: packed (LEN) or a single varint. */
  static void readInt64s(ProtoReader r, int wireType, LongList out) {
    if (wireType == LEN) {
      ProtoReader p = new ProtoReader(r.readBytes(), r.source, r.what);
      while (p.hasRemaining()) {
        out.add(p.readVarint());
      }
    } else if (wireType == VARINT) {
      out.add(r.readVarint());
    } else {
      throw r.corrupt("int64 field with wire type " + wireType);
    }
  }

  /** A growable long list without boxing. */
  static final class LongList {
    long[] a = new long[8];
    int size;

    void add(long v) {
      if (size == a.length) {
        a = java.util.Arrays.copyOf(a, size * 2);
      }
      a[size++] = v;
    }

    long[] toArray() {
      return java.util.Arrays.copyOf(a, size);
    }
  }
}
