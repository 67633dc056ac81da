package io.thetacal.model.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.thetacal.model.MappedBytes;
import io.thetacal.model.ModelLoadException;
import io.thetacal.model.TensorInfo;
import io.thetacal.model.TensorSource;
import io.thetacal.model.TensorType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One safetensors file: an 8-byte little-endian header length, a JSON header (tensor name → dtype,
 * shape, data_offsets; optional {@code __metadata__} string map) and the raw data. Header length,
 * shapes and offsets are checked against the file before anything is allocated; unsupported dtypes,
 * overlapping or out-of-file ranges and malformed JSON fail with a {@link ModelLoadException}.
 */
public final class SafetensorsFile implements TensorSource {
  /** Largest JSON header accepted (the reference implementation's limit). */
  static final long MAX_HEADER = 100L << 20;
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private final MappedBytes bytes;
  private final Map<String, String> metadata;
  private final Map<String, TensorInfo> tensors;

  private SafetensorsFile(MappedBytes bytes, Map<String, String> metadata, Map<String, TensorInfo> tensors) {
    this.bytes = bytes;
    this.metadata = metadata;
    this.tensors = tensors;
  }

  public static SafetensorsFile open(Path path) {
    return parse(MappedBytes.open(path));
  }

  /** Parses and validates a file already opened or wrapped as bytes. */
  public static SafetensorsFile parse(MappedBytes bytes) {
    Path path = bytes.path();
    if (bytes.size() < 8) {
      throw new ModelLoadException(path + " (safetensors): file has " + bytes.size()
          + " bytes, too short for the 8-byte header length");
    }
    long headerLen = bytes.getLong(0, "header length");
    if (headerLen < 2 || headerLen > MAX_HEADER || headerLen > bytes.size() - 8) {
      throw new ModelLoadException(path + " (safetensors): header length is "
          + Long.toUnsignedString(headerLen) + " bytes but must be between 2 and "
          + Math.min(MAX_HEADER, bytes.size() - 8) + " (limit " + MAX_HEADER
          + ", file size " + bytes.size() + ")");
    }
    byte[] header = new byte[(int) headerLen];
    bytes.get(8, header, "JSON header");
    JsonNode root;
    try {
      root = JSON.readTree(header);
    } catch (JsonProcessingException e) {
      throw new ModelLoadException(path + " (safetensors): JSON header is malformed: "
          + e.getOriginalMessage());
    } catch (java.io.IOException e) {
      throw new ModelLoadException(path + " (safetensors): cannot parse JSON header: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new ModelLoadException(path + " (safetensors): JSON header must be an object");
    }
    long dataStart = 8 + headerLen;
    long dataLen = bytes.size() - dataStart;
    Map<String, String> metadata = new LinkedHashMap<>();
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = e.getKey();
      JsonNode node = e.getValue();
      if (name.equals("__metadata__")) {
        if (!node.isObject()) {
          throw bad(path, "'__metadata__' must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> m = node.fields(); m.hasNext(); ) {
          Map.Entry<String, JsonNode> kv = m.next();
          if (!kv.getValue().isTextual()) {
            throw bad(path, "'__metadata__." + kv.getKey() + "' must be a string");
          }
          metadata.put(kv.getKey(), kv.getValue().asText());
        }
        continue;
      }
      tensors.put(name, tensor(path, name, node, dataStart, dataLen));
    }
    List<TensorInfo> sorted = new ArrayList<>(tensors.values());
    sorted.sort(Comparator.comparingLong(TensorInfo::offset));
    for (int i = 1; i < sorted.size(); i++) {
      TensorInfo a = sorted.get(i - 1);
      TensorInfo b = sorted.get(i);
      if (a.offset() + a.byteSize() > b.offset()) {
        throw bad(path, "tensors '" + a.name() + "' and '" + b.name() + "' have overlapping data ranges");
      }
    }
    return new SafetensorsFile(bytes, Collections.unmodifiableMap(metadata),
        Collections.unmodifiableMap(tensors));
  }

  private static TensorInfo tensor(Path path, String name, JsonNode node, long dataStart, long dataLen) {
    if (!node.isObject()) {
      throw bad(path, "entry '" + name + "' must be an object with dtype, shape and data_offsets");
    }
    JsonNode dt = node.get("dtype");
    if (dt == null || !dt.isTextual()) {
      throw bad(path, "tensor '" + name + "' has no string 'dtype'");
    }
    TensorType type = switch (dt.asText()) {
      case "F32" -> TensorType.F32;
      case "F16" -> TensorType.F16;
      case "BF16" -> TensorType.BF16;
      default -> throw bad(path, "tensor '" + name + "' has dtype '" + dt.asText()
          + "', which is not supported (supported: F32, F16, BF16)");
    };
    JsonNode sh = node.get("shape");
    if (sh == null || !sh.isArray() || sh.size() > 8) {
      throw bad(path, "tensor '" + name + "' needs a 'shape' array of at most 8 dimensions");
    }
    long[] shape = new long[sh.size()];
    long elements = 1;
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = sh.get(i);
      if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
        throw bad(path, "tensor '" + name + "' has shape " + sh + "; dimension " + i
            + " must be an integer >= 0");
      }
      shape[i] = d.asLong();
      try {
        elements = Math.multiplyExact(elements, shape[i]);
      } catch (ArithmeticException ex) {
        throw bad(path, "tensor '" + name + "' has shape " + sh + " whose element count overflows");
      }
    }
    JsonNode off = node.get("data_offsets");
    if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber()
        || !off.get(1).isIntegralNumber() || !off.get(0).canConvertToLong()
        || !off.get(1).canConvertToLong()) {
      throw bad(path, "tensor '" + name + "' needs 'data_offsets' [begin, end] as integers");
    }
    long begin = off.get(0).asLong();
    long end = off.get(1).asLong();
    if (begin < 0 || end < begin || end > dataLen) {
      throw bad(path, "tensor '" + name + "' has data_offsets [" + begin + ", " + end
          + "] outside the data section of " + dataLen + " bytes");
    }
    long size;
    try {
      size = type.byteSize(elements);
    } catch (ArithmeticException ex) {
      size = -1;
    }
    if (size != end - begin) {
      throw bad(path, "tensor '" + name + "' (" + type + ", shape " + Arrays.toString(shape) + ") needs "
          + (size < 0 ? "more than 2^63" : size) + " bytes but its data_offsets span " + (end - begin));
    }
    return new TensorInfo(name, shape, type, dataStart + begin, size);
  }

  private static ModelLoadException bad(Path path, String problem) {
    return new ModelLoadException(path + " (safetensors): " + problem);
  }

  public Path path() {
    return bytes.path();
  }

  /** The {@code __metadata__} string map (empty when absent). */
  public Map<String, String> metadata() {
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
}
