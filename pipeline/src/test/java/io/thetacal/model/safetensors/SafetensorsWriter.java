package io.thetacal.model.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.thetacal.model.TensorInfo;
import io.thetacal.model.TensorSource;
import io.thetacal.model.TensorType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.TreeMap;

/** Writes safetensors files in F32, F16 or BF16 from decoded tensors (test fixture). */
public final class SafetensorsWriter {
  private SafetensorsWriter() {
  }

  /** Writes the named tensors of src (all when names is null) to file, encoded as type. */
  public static void write(Path file, TensorSource src, Collection<String> names, TensorType type)
      throws IOException {
    TreeMap<String, TensorInfo> selected = new TreeMap<>();
    for (TensorInfo t : src.tensors().values()) {
      if (names == null || names.contains(t.name())) {
        selected.put(t.name(), t);
      }
    }
    ObjectMapper json = new ObjectMapper();
    ObjectNode header = json.createObjectNode();
    header.putObject("__metadata__").put("format", "pt");
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    for (TensorInfo t : selected.values()) {
      float[] v = src.read(t.name());
      int width = type == TensorType.F32 ? 4 : 2;
      ByteBuffer b = ByteBuffer.allocate(v.length * width).order(ByteOrder.LITTLE_ENDIAN);
      for (float f : v) {
        switch (type) {
          case F32 -> b.putFloat(f);
          case F16 -> b.putShort(TensorType.floatToHalf(f));
          case BF16 -> b.putShort(TensorType.floatToBf16(f));
          default -> throw new IllegalArgumentException(type.toString());
        }
      }
      ObjectNode e = header.putObject(t.name());
      e.put("dtype", type.name());
      ArrayNode shape = e.putArray("shape");
      for (long d : t.shape()) {
        shape.add(d);
      }
      ArrayNode off = e.putArray("data_offsets");
      off.add(data.size());
      data.write(b.array());
      off.add(data.size());
    }
    writeRaw(file, json.writeValueAsString(header), data.toByteArray());
  }

  /** Writes a file from a header string (space-padded to a multiple of 8) and data bytes. */
  public static void writeRaw(Path file, String header, byte[] data) throws IOException {
    StringBuilder h = new StringBuilder(header);
    while (h.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) {
      h.append(' ');
    }
    byte[] hb = h.toString().getBytes(StandardCharsets.UTF_8);
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(hb.length).array());
      out.write(hb);
      out.write(data);
    }
  }
}
