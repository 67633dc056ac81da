package io.thetacal.model.onnx;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.function.BiFunction;

/** Minimal protobuf writer for tests: re-serializes ONNX messages with fields added or replaced. */
public final class ProtoWriter {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  public ProtoWriter varint(long v) {
    while ((v & ~0x7fL) != 0) {
      out.write((int) ((v & 0x7f) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
    return this;
  }

  public ProtoWriter tag(int field, int wireType) {
    return varint(((long) field << 3) | wireType);
  }

  public ProtoWriter bytesField(int field, byte[] payload) {
    tag(field, 2).varint(payload.length);
    out.write(payload, 0, payload.length);
    return this;
  }

  public ProtoWriter stringField(int field, String s) {
    return bytesField(field, s.getBytes(StandardCharsets.UTF_8));
  }

  public ProtoWriter varintField(int field, long v) {
    return tag(field, 0).varint(v);
  }

  public ProtoWriter raw(byte[] b) {
    out.write(b, 0, b.length);
    return this;
  }

  public byte[] toByteArray() {
    return out.toByteArray();
  }

  /** A ValueInfoProto naming a float tensor of unspecified shape. */
  public static byte[] floatValueInfo(String name) {
    byte[] tensorType = new ProtoWriter().varintField(1, 1).toByteArray();
    byte[] typeProto = new ProtoWriter().bytesField(1, tensorType).toByteArray();
    return new ProtoWriter().stringField(1, name).bytesField(2, typeProto).toByteArray();
  }

  /**
   * Copies a message field by field; {@code rewrite} gets (field number, payload) of every
   * length-delimited field and returns the replacement payload, or null to keep it as is.
   */
  public static byte[] rewrite(byte[] message, BiFunction<Integer, byte[], byte[]> rewrite) {
    ProtoReader r = new ProtoReader(ByteBuffer.wrap(message), "test", "message");
    ProtoWriter w = new ProtoWriter();
    while (r.hasRemaining()) {
      int start = r.position();
      int tag = r.readTag();
      int field = tag >>> 3;
      int wt = tag & 7;
      if (wt == ProtoReader.LEN) {
        ByteBuffer b = r.readBytes();
        byte[] payload = new byte[b.remaining()];
        b.get(payload);
        byte[] replaced = rewrite.apply(field, payload);
        w.bytesField(field, replaced == null ? payload : replaced);
      } else {
        r.skip(wt);
        w.out.write(message, start, r.position() - start);
      }
    }
    return w.toByteArray();
  }

  /** Replaces the dims of the initializer named {@code name} in a ModelProto. */
  public static byte[] withInitializerDims(byte[] model, String name, long... dims) {
    return rewrite(model, (field, graph) -> field != 7 ? null : rewrite(graph, (gf, tensor) -> {
      if (gf != 5 || !name.equals(tensorName(tensor))) {
        return null;
      }
      ProtoWriter w = new ProtoWriter();
      for (long d : dims) {
        w.varintField(1, d);
      }
      ProtoReader r = new ProtoReader(ByteBuffer.wrap(tensor), "test", "tensor");
      while (r.hasRemaining()) {
        int start = r.position();
        int tag = r.readTag();
        r.skip(tag & 7);
        if (tag >>> 3 != 1) {
          w.out.write(tensor, start, r.position() - start);
        }
      }
      return w.toByteArray();
    }));
  }

  private static String tensorName(byte[] tensor) {
    ProtoReader r = new ProtoReader(ByteBuffer.wrap(tensor), "test", "tensor");
    while (r.hasRemaining()) {
      int tag = r.readTag();
      if (tag >>> 3 == 8 && (tag & 7) == ProtoReader.LEN) {
        return r.readString();
      }
      r.skip(tag & 7);
    }
    return null;
  }
}
