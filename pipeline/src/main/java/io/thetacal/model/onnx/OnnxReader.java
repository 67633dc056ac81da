package io.thetacal.model.onnx;

import static io.thetacal.model.onnx.ProtoReader.FIXED32;
import static io.thetacal.model.onnx.ProtoReader.LEN;

import io.thetacal.model.ModelLoadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the graph and initializers of an ONNX ModelProto with a small, bounded protobuf wire-format
 * parser (no protobuf dependency). Files are memory-mapped and tensors reference the mapping, so nothing
 * larger than what the file holds is ever allocated.
 */
public final class OnnxReader {
  private OnnxReader() {
  }

  /** Memory-maps and parses a .onnx file. */
  public static OnnxGraph read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new ModelLoadException(file + ": model file not found (expected an .onnx file)");
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size > Integer.MAX_VALUE) {
        throw new ModelLoadException(file + ": " + size + " bytes; ONNX files above 2 GiB need external"
            + " data, which is not supported");
      }
      ByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
      return read(map, file.toString());
    } catch (NoSuchFileException e) {
      throw new ModelLoadException(file + ": model file not found", e);
    } catch (IOException e) {
      throw new ModelLoadException(file + ": cannot read model file: " + e.getMessage(), e);
    }
  }

  /** Parses ModelProto bytes; {@code source} names them in error messages. */
  public static OnnxGraph read(ByteBuffer bytes, String source) {
    if (!bytes.hasRemaining()) {
      throw new OnnxFormatException(source + ": the file is empty, not an ONNX model");
    }
    ProtoReader r = new ProtoReader(bytes.order(ByteOrder.LITTLE_ENDIAN), source, "ModelProto");
    long ir = -1;
    long opset = -1;
    ProtoReader graph = null;
    while (r.hasRemaining()) {
      int tag = r.readTag();
      int field = tag >>> 3;
      int wt = tag & 7;
      if (field == 1 && wt == ProtoReader.VARINT) {
        ir = r.readVarint();
      } else if (field == 7 && wt == LEN) {
        graph = r.readMessage("graph");
      } else if (field == 8 && wt == LEN) {
        ProtoReader op = r.readMessage("opset_import");
        String domain = "";
        long version = -1;
        while (op.hasRemaining()) {
          int t = op.readTag();
          if (t >>> 3 == 1 && (t & 7) == LEN) {
            domain = op.readString();
          } else if (t >>> 3 == 2 && (t & 7) == ProtoReader.VARINT) {
            version = op.readVarint();
          } else {
            op.skip(t & 7);
          }
        }
        if (domain.isEmpty() || domain.equals("ai.onnx")) {
          opset = version;
        }
      } else if (field > 30) {
        throw r.corrupt("field number " + field + " is not part of ModelProto");
      } else {
        r.skip(wt);
      }
    }
    if (ir <= 0 || graph == null) {
      throw new OnnxFormatException(source + ": not an ONNX model (no " + (ir <= 0 ? "ir_version" : "graph")
          + " field in the ModelProto)");
    }
    return readGraph(graph, source, ir, opset);
  }

  private static OnnxGraph readGraph(ProtoReader g, String source, long ir, long opset) {
    List<OnnxNode> nodes = new ArrayList<>();
    Map<String, OnnxTensor> inits = new LinkedHashMap<>();
    List<String> inputs = new ArrayList<>();
    List<String> outputs = new ArrayList<>();
    while (g.hasRemaining()) {
      int tag = g.readTag();
      int field = tag >>> 3;
      int wt = tag & 7;
      if (wt != LEN) {
        g.skip(wt);
        continue;
      }
      switch (field) {
        case 1 -> nodes.add(readNode(g.readMessage("node #" + nodes.size()), source));
        case 5 -> {
          OnnxTensor t = readTensor(g.readMessage("initializer #" + inits.size()), source);
          inits.put(t.name(), t);
        }
        case 11 -> inputs.add(valueInfoName(g.readMessage("input")));
        case 12 -> outputs.add(valueInfoName(g.readMessage("output")));
        default -> g.skip(wt);
      }
    }
    // Inputs that are initializers are weights, not model inputs (IR < 4 lists them in both).
    inputs.removeIf(inits::containsKey);
    return new OnnxGraph(source, ir, opset, nodes, inits, inputs, outputs);
  }

  private static String valueInfoName(ProtoReader v) {
    String name = "";
    while (v.hasRemaining()) {
      int t = v.readTag();
      if (t >>> 3 == 1 && (t & 7) == LEN) {
        name = v.readString();
      } else {
        v.skip(t & 7);
      }
    }
    return name;
  }

  private static OnnxNode readNode(ProtoReader n, String source) {
    List<String> in = new ArrayList<>();
    List<String> out = new ArrayList<>();
    String name = "";
    String op = "";
    Map<String, OnnxAttribute> attrs = new HashMap<>();
    while (n.hasRemaining()) {
      int t = n.readTag();
      int field = t >>> 3;
      int wt = t & 7;
      if (wt != LEN) {
        n.skip(wt);
        continue;
      }
      switch (field) {
        case 1 -> in.add(n.readString());
        case 2 -> out.add(n.readString());
        case 3 -> name = n.readString();
        case 4 -> op = n.readString();
        case 5 -> {
          OnnxAttribute a = readAttribute(n.readMessage("attribute"), source);
          attrs.put(a.name(), a);
        }
        default -> n.skip(wt);
      }
    }
    return new OnnxNode(name, op, in, out, attrs);
  }

  private static OnnxAttribute readAttribute(ProtoReader a, String source) {
    String name = "";
    int type = 0;
    float f = 0;
    long i = 0;
    String s = null;
    OnnxTensor tensor = null;
    FloatList floats = new FloatList();
    ProtoReader.LongList ints = new ProtoReader.LongList();
    while (a.hasRemaining()) {
      int t = a.readTag();
      int field = t >>> 3;
      int wt = t & 7;
      switch (field) {
        case 1 -> name = a.readString();
        case 20 -> type = (int) a.readVarint();
        case 2 -> f = Float.intBitsToFloat(a.readFixed32());
        case 3 -> i = a.readVarint();
        case 4 -> s = a.readString();
        case 5 -> tensor = readTensor(a.readMessage("attribute tensor"), source);
        case 7 -> readFloats(a, wt, floats);
        case 8 -> ProtoReader.readInt64s(a, wt, ints);
        default -> a.skip(wt);
      }
    }
    return new OnnxAttribute(name, type, f, i, s, tensor, floats.toArray(), ints.toArray());
  }

  private static OnnxTensor readTensor(ProtoReader t, String source) {
    ProtoReader.LongList dims = new ProtoReader.LongList();
    int dataType = 0;
    String name = "";
    ByteBuffer raw = null;
    FloatList floats = null;
    ProtoReader.LongList ints = null;
    boolean external = false;
    while (t.hasRemaining()) {
      int tag = t.readTag();
      int field = tag >>> 3;
      int wt = tag & 7;
      switch (field) {
        case 1 -> ProtoReader.readInt64s(t, wt, dims);
        case 2 -> dataType = (int) t.readVarint();
        case 4 -> {
          floats = floats == null ? new FloatList() : floats;
          readFloats(t, wt, floats);
        }
        case 5, 7 -> {
          ints = ints == null ? new ProtoReader.LongList() : ints;
          ProtoReader.readInt64s(t, wt, ints);
        }
        case 8 -> name = t.readString();
        case 9 -> raw = t.readBytes();
        case 14 -> external = t.readVarint() == 1;
        default -> t.skip(wt);
      }
    }
    long[] d = dims.toArray();
    for (long x : d) {
      if (x < 0) {
        throw new OnnxFormatException(source + ": tensor '" + name + "' has a negative dimension "
            + java.util.Arrays.toString(d));
      }
    }
    if (external) {
      throw new OnnxFormatException(source + ": tensor '" + name + "' keeps its data in an external file,"
          + " which is not supported; save the model with the weights inside the .onnx file");
    }
    return new OnnxTensor(source, name, dataType, d, raw,
        floats == null ? null : floats.toArray(), ints == null ? null : ints.toArray());
  }

  private static void readFloats(ProtoReader r, int wt, FloatList out) {
    if (wt == LEN) {
      ByteBuffer b = r.readBytes();
      if (b.remaining() % 4 != 0) {
        throw r.corrupt("packed float field of " + b.remaining() + " bytes is not a multiple of 4");
      }
      while (b.hasRemaining()) {
        out.add(b.getFloat());
      }
    } else if (wt == FIXED32) {
      out.add(Float.intBitsToFloat(r.readFixed32()));
    } else {
      throw r.corrupt("float field with wire type " + wt);
    }
  }

  private static final class FloatList {
    float[] a = new float[8];
    int size;

    void add(float v) {
      if (size == a.length) {
        a = java.util.Arrays.copyOf(a, size * 2);
      }
      a[size++] = v;
    }

    float[] toArray() {
      return java.util.Arrays.copyOf(a, size);
    }
  }
}
