package io.thetacal.model.gguf;

import io.thetacal.io.Utf8;
import io.thetacal.model.MappedBytes;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.TensorInfo;
import io.thetacal.model.TensorSource;
import io.thetacal.model.TensorType;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF (v2/v3) file: metadata key/values, tensor descriptors and the memory-mapped data section. Every
 * count, length, dimension and offset the header declares is checked against the file size before
 * anything is allocated, so a hostile or truncated file fails with a {@link ModelLoadException} naming
 * the file and the problem.
 *
 * <p>Metadata values are decoded to: {@code Long} (all integer types; UINT64 keeps its bits),
 * {@code Float}, {@code Double}, {@code Boolean}, {@code String}; arrays to {@code long[]},
 * {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]} or {@code Object[]} (arrays of
 * arrays).
 */
public final class GgufFile implements TensorSource {
  static final int MAGIC = 0x46554747;
  static final int DEFAULT_ALIGNMENT = 32;
  /** Longest metadata string accepted (keys, values, token pieces). */
  static final long MAX_STRING = 1 << 26;
  static final int MAX_DIMS = 4;
  private static final int MAX_ARRAY_DEPTH = 4;

  private final MappedBytes bytes;
  private final int version;
  private final Map<String, Object> metadata;
  private final Map<String, TensorInfo> tensors;
  private final long dataStart;
  private final int alignment;

  private GgufFile(MappedBytes bytes, int version, Map<String, Object> metadata,
      Map<String, TensorInfo> tensors, long dataStart, int alignment) {
    this.bytes = bytes;
    this.version = version;
    this.metadata = metadata;
    this.tensors = tensors;
    this.dataStart = dataStart;
    this.alignment = alignment;
  }

  /** Opens, maps and validates a GGUF file. */
  public static GgufFile open(Path path) {
    return parse(MappedBytes.open(path));
  }

  /** Parses and validates a file already opened or wrapped as bytes. */
  public static GgufFile parse(MappedBytes bytes) {
    Reader r = new Reader(bytes);
    int magic = r.u32("magic");
    if (magic != MAGIC) {
      throw r.fail(0, String.format("is not a GGUF file (magic 0x%08x, expected 0x%08x 'GGUF')",
          magic, MAGIC));
    }
    int version = r.u32("version");
    if (version != 2 && version != 3) {
      throw r.fail(4, "has GGUF version " + Integer.toUnsignedString(version)
          + "; only versions 2 and 3 are supported");
    }
    long tensorCount = r.count("tensor count", 8 + 4 + 8 + 4 + 8);
    long kvCount = r.count("metadata key/value count", 8 + 4 + 1);
    Map<String, Object> metadata = new LinkedHashMap<>();
    for (long i = 0; i < kvCount; i++) {
      long at = r.pos;
      String key = r.string("metadata key #" + i);
      int type = r.u32("type of metadata '" + key + "'");
      Object value = r.value(type, "metadata '" + key + "'", 0);
      if (metadata.put(key, value) != null) {
        throw r.fail(at, "declares metadata key '" + key + "' twice");
      }
    }
    int alignment = DEFAULT_ALIGNMENT;
    Object al = metadata.get("general.alignment");
    if (al != null) {
      if (!(al instanceof Long a) || a <= 0 || a > 1 << 20 || Long.bitCount(a) != 1) {
        throw r.fail(0, "has 'general.alignment' = " + al + " but it must be a power of two <= 1048576");
      }
      alignment = (int) (long) (Long) al;
    }
    Map<String, long[]> dims = new LinkedHashMap<>();
    Map<String, Integer> types = new LinkedHashMap<>();
    Map<String, Long> offsets = new LinkedHashMap<>();
    for (long i = 0; i < tensorCount; i++) {
      long at = r.pos;
      String name = r.string("name of tensor #" + i);
      int nDims = r.u32("dimension count of tensor '" + name + "'");
      if (nDims < 1 || nDims > MAX_DIMS) {
        throw r.fail(at, "tensor '" + name + "' declares " + Integer.toUnsignedString(nDims)
            + " dimensions but must have 1 to " + MAX_DIMS);
      }
      long[] ne = new long[nDims];
      for (int d = 0; d < nDims; d++) {
        ne[d] = r.u64("dimension " + d + " of tensor '" + name + "'");
        if (ne[d] <= 0) {
          throw r.fail(at, "tensor '" + name + "' declares dimension " + d + " = "
              + Long.toUnsignedString(ne[d]) + " but it must be > 0 and < 2^63");
        }
      }
      int type = r.u32("type of tensor '" + name + "'");
      long offset = r.u64("data offset of tensor '" + name + "'");
      if (dims.put(name, ne) != null) {
        throw r.fail(at, "declares tensor '" + name + "' twice");
      }
      types.put(name, type);
      offsets.put(name, offset);
    }
    long dataStart = align(r.pos, alignment);
    if (tensorCount > 0 && dataStart > bytes.size()) {
      throw r.fail(r.pos, "ends in its header: the data section would start at byte " + dataStart
          + " but the file has " + bytes.size() + " bytes");
    }
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : dims.entrySet()) {
      String name = e.getKey();
      long[] ne = e.getValue();
      TensorType type = tensorType(bytes, name, types.get(name));
      long elements;
      try {
        elements = 1;
        for (long d : ne) {
          elements = Math.multiplyExact(elements, d);
        }
      } catch (ArithmeticException ex) {
        throw new ModelLoadException(bytes.path() + ": tensor '" + name + "' declares dimensions "
            + java.util.Arrays.toString(ne) + " whose product overflows a 64-bit count");
      }
      if (ne[0] % type.blockElements() != 0) {
        throw new ModelLoadException(bytes.path() + ": tensor '" + name + "' of type " + type
            + " has a first dimension of " + ne[0] + ", not a multiple of its block size "
            + type.blockElements());
      }
      long size;
      try {
        size = type.byteSize(elements);
      } catch (ArithmeticException ex) {
        size = -1;
      }
      long rel = offsets.get(name);
      if (rel < 0 || rel % alignment != 0) {
        throw new ModelLoadException(bytes.path() + ": tensor '" + name + "' has data offset "
            + Long.toUnsignedString(rel) + ", not a multiple of the alignment " + alignment);
      }
      long available = bytes.size() - dataStart;
      if (size < 0 || rel > available || size > available - rel) {
        throw new ModelLoadException(bytes.path() + ": tensor '" + name + "' (" + type + ", "
            + java.util.Arrays.toString(ne) + ") needs " + (size < 0 ? "more than 2^63" : size)
            + " bytes at data offset " + rel + " but the data section has only " + available
            + " bytes (truncated or corrupt file)");
      }
      long[] shape = new long[ne.length];
      for (int d = 0; d < ne.length; d++) {
        shape[d] = ne[ne.length - 1 - d];
      }
      tensors.put(name, new TensorInfo(name, shape, type, dataStart + rel, size));
    }
    return new GgufFile(bytes, version, Collections.unmodifiableMap(metadata),
        Collections.unmodifiableMap(tensors), dataStart, alignment);
  }

  private static TensorType tensorType(MappedBytes bytes, String name, int id) {
    return switch (id) {
      case 0 -> TensorType.F32;
      case 1 -> TensorType.F16;
      case 8 -> TensorType.Q8_0;
      case 30 -> TensorType.BF16;
      default -> throw new ModelLoadException(bytes.path() + ": tensor '" + name + "' has ggml type id "
          + Integer.toUnsignedString(id) + (id > 0 && id < 40 ? ", which is not supported" : ", which is unknown")
          + " (supported: 0 F32, 1 F16, 8 Q8_0, 30 BF16)");
    };
  }

  private static long align(long pos, int alignment) {
    return (pos + alignment - 1) / alignment * alignment;
  }

  public Path path() {
    return bytes.path();
  }

  public int version() {
    return version;
  }

  public int alignment() {
    return alignment;
  }

  /** Absolute offset of the data section. */
  public long dataStart() {
    return dataStart;
  }

  public Map<String, Object> metadata() {
    return metadata;
  }

  @Override
  public List<Path> files() {
    return List.of(bytes.path());
  }

  @Override
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  @Override
  public MappedBytes dataOf(String name) {
    return bytes;
  }

  /** An integer metadata value; fails naming the key when missing or not an integer. */
  public long getLong(String key) {
    Object v = metadata.get(key);
    if (v instanceof Long l) {
      return l;
    }
    throw new ModelLoadException(path() + ": metadata '" + key + "' is "
        + (v == null ? "missing" : "a " + v.getClass().getSimpleName()) + " but must be an integer");
  }

  /** An integer metadata value in int range, > 0. */
  public int getPositiveInt(String key) {
    long v = getLong(key);
    if (v <= 0 || v > Integer.MAX_VALUE) {
      throw new ModelLoadException(path() + ": metadata '" + key + "' is set to " + v
          + " but must be > 0 and <= " + Integer.MAX_VALUE);
    }
    return (int) v;
  }

  /** A numeric metadata value as double, or the default when missing. */
  public double getDouble(String key, double dflt) {
    Object v = metadata.get(key);
    if (v == null) {
      return dflt;
    }
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    throw new ModelLoadException(path() + ": metadata '" + key + "' is a "
        + v.getClass().getSimpleName() + " but must be a number");
  }

  public String getString(String key) {
    Object v = metadata.get(key);
    if (v instanceof String s) {
      return s;
    }
    throw new ModelLoadException(path() + ": metadata '" + key + "' is "
        + (v == null ? "missing" : "a " + v.getClass().getSimpleName()) + " but must be a string");
  }

  /** Sequential, bounds-checked reader over the header. */
  private static final class Reader {
    private final MappedBytes bytes;
    long pos;

    Reader(MappedBytes bytes) {
      this.bytes = bytes;
    }

    ModelLoadException fail(long at, String problem) {
      return new ModelLoadException(bytes.path() + " (GGUF, byte " + at + "): " + problem);
    }

    private void need(long n, String what) {
      if (n < 0 || n > bytes.size() - pos) {
        throw fail(pos, "is truncated: reading " + what + " needs " + (n < 0 ? "more than 2^63" : n)
            + " bytes but only " + (bytes.size() - pos) + " remain");
      }
    }

    int u32(String what) {
      need(4, what);
      int v = bytes.getInt(pos, what);
      pos += 4;
      return v;
    }

    long u64(String what) {
      need(8, what);
      long v = bytes.getLong(pos, what);
      pos += 8;
      return v;
    }

    /** A count that can hold at most what the remaining bytes allow at minItemBytes per item. */
    long count(String what, long minItemBytes) {
      long at = pos;
      long n = u64(what);
      long remaining = bytes.size() - pos;
      if (n < 0 || n > remaining / minItemBytes) {
        throw fail(at, "declares " + what + " " + Long.toUnsignedString(n) + " but only " + remaining
            + " bytes follow (at least " + minItemBytes + " bytes per item)");
      }
      return n;
    }

    String string(String what) {
      long at = pos;
      long len = u64("length of " + what);
      if (len < 0 || len > MAX_STRING) {
        throw fail(at, what + " declares a length of " + Long.toUnsignedString(len)
            + " bytes; the limit is " + MAX_STRING);
      }
      need(len, what);
      ByteBuffer b = bytes.slice(pos, (int) len, what);
      pos += len;
      try {
        return Utf8.decode(b);
      } catch (Utf8.InvalidUtf8Exception e) {
        throw fail(at, what + " is " + e.getMessage());
      }
    }

    Object value(int type, String what, int depth) {
      switch (type) {
        case 0, 1 -> {
          need(1, what);
          byte v = bytes.get(pos++, what);
          return type == 0 ? (long) (v & 0xff) : (long) v;
        }
        case 2, 3 -> {
          need(2, what);
          short v = bytes.slice(pos, 2, what).getShort(0);
          pos += 2;
          return type == 2 ? (long) (v & 0xffff) : (long) v;
        }
        case 4 -> {
          return u32(what) & 0xffffffffL;
        }
        case 5 -> {
          return (long) u32(what);
        }
        case 6 -> {
          return Float.intBitsToFloat(u32(what));
        }
        case 7 -> {
          need(1, what);
          byte v = bytes.get(pos, what);
          if (v != 0 && v != 1) {
            throw fail(pos, what + " is a BOOL with byte value " + (v & 0xff) + "; must be 0 or 1");
          }
          pos++;
          return v == 1;
        }
        case 8 -> {
          return string(what);
        }
        case 9 -> {
          if (depth >= MAX_ARRAY_DEPTH) {
            throw fail(pos, what + " nests arrays deeper than " + MAX_ARRAY_DEPTH + " levels");
          }
          int elemType = u32("element type of " + what);
          return array(elemType, what, depth + 1);
        }
        case 10, 11 -> {
          return u64(what);
        }
        case 12 -> {
          return Double.longBitsToDouble(u64(what));
        }
        default -> throw fail(pos - 4, what + " has unknown value type id "
            + Integer.toUnsignedString(type) + " (known: 0..12)");
      }
    }

    private static int minBytes(int type) {
      return switch (type) {
        case 0, 1, 7 -> 1;
        case 2, 3 -> 2;
        case 4, 5, 6 -> 4;
        case 8, 10, 11, 12 -> 8;
        case 9 -> 12;
        default -> 1;
      };
    }

    Object array(int elemType, String what, int depth) {
      if (elemType < 0 || elemType > 12) {
        throw fail(pos - 4, what + " is an array of unknown value type id "
            + Integer.toUnsignedString(elemType) + " (known: 0..12)");
      }
      long n = count("element count of " + what, minBytes(elemType));
      if (n > Integer.MAX_VALUE - 8) {
        throw fail(pos - 8, what + " declares " + n + " elements; the limit is " + (Integer.MAX_VALUE - 8));
      }
      int len = (int) n;
      switch (elemType) {
        case 6 -> {
          float[] out = new float[len];
          for (int i = 0; i < len; i++) {
            out[i] = Float.intBitsToFloat(u32(what));
          }
          return out;
        }
        case 12 -> {
          double[] out = new double[len];
          for (int i = 0; i < len; i++) {
            out[i] = Double.longBitsToDouble(u64(what));
          }
          return out;
        }
        case 7 -> {
          boolean[] out = new boolean[len];
          for (int i = 0; i < len; i++) {
            out[i] = (Boolean) value(7, what, depth);
          }
          return out;
        }
        case 8 -> {
          String[] out = new String[len];
          for (int i = 0; i < len; i++) {
            out[i] = string(what + "[" + i + "]");
          }
          return out;
        }
        case 9 -> {
          Object[] out = new Object[len];
          for (int i = 0; i < len; i++) {
            out[i] = value(9, what + "[" + i + "]", depth);
          }
          return out;
        }
        default -> {
          long[] out = new long[len];
          for (int i = 0; i < len; i++) {
            out[i] = (Long) value(elemType, what, depth);
          }
          return out;
        }
      }
    }
  }
}
