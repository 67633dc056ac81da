package io.thetacal.model.llama;

import io.thetacal.model.TensorType;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a complete {@code llama}-architecture GGUF file for a {@link LlamaConfig}: seeded N(0, std²)
 * matrices in F32, F16 or Q8_0 (norms F32, 1 + N(0, 0.1²)), streamed to disk, or a sparse file whose data
 * section is all zeros (test fixture for models too large to write).
 */
final class GgufModelWriter {
  private static final int ALIGNMENT = 32;

  private record Tensor(String name, long[] ne, TensorType type, boolean norm) {
    long bytes() {
      long e = 1;
      for (long d : ne) {
        e *= d;
      }
      return type.byteSize(e);
    }
  }

  private final LlamaConfig c;
  private final TensorType type;
  private final Map<String, Object> extraMetadata = new LinkedHashMap<>();
  private final List<Tensor> extraTensors = new ArrayList<>();
  private final Map<String, float[]> extraData = new LinkedHashMap<>();

  GgufModelWriter(LlamaConfig c, TensorType type) {
    this.c = c;
    this.type = type;
  }

  /** Adds a metadata key (String, Long, Float or Double value). */
  GgufModelWriter metadata(String key, Object value) {
    extraMetadata.put(key, value);
    return this;
  }

  /** Adds an F32 vector tensor. */
  GgufModelWriter vector(String name, float[] values) {
    extraTensors.add(new Tensor(name, new long[] {values.length}, TensorType.F32, true));
    extraData.put(name, values);
    return this;
  }

  private List<Tensor> tensors() {
    long d = c.hiddenSize();
    long ffn = c.intermediateSize();
    List<Tensor> t = new ArrayList<>();
    t.add(new Tensor("token_embd.weight", new long[] {d, c.vocabSize()}, type, false));
    for (int l = 0; l < c.numLayers(); l++) {
      String p = "blk." + l + ".";
      t.add(new Tensor(p + "attn_norm.weight", new long[] {d}, TensorType.F32, true));
      t.add(new Tensor(p + "attn_q.weight", new long[] {d, c.qDim()}, type, false));
      t.add(new Tensor(p + "attn_k.weight", new long[] {d, c.kvDim()}, type, false));
      t.add(new Tensor(p + "attn_v.weight", new long[] {d, c.kvDim()}, type, false));
      t.add(new Tensor(p + "attn_output.weight", new long[] {c.qDim(), d}, type, false));
      t.add(new Tensor(p + "ffn_norm.weight", new long[] {d}, TensorType.F32, true));
      t.add(new Tensor(p + "ffn_gate.weight", new long[] {d, ffn}, type, false));
      t.add(new Tensor(p + "ffn_up.weight", new long[] {d, ffn}, type, false));
      t.add(new Tensor(p + "ffn_down.weight", new long[] {ffn, d}, type, false));
    }
    t.add(new Tensor("output_norm.weight", new long[] {d}, TensorType.F32, true));
    if (!c.tiedOutput()) {
      t.add(new Tensor("output.weight", new long[] {d, c.vocabSize()}, type, false));
    }
    t.addAll(extraTensors);
    return t;
  }

  /** Writes the file with seeded random weights; returns its size in bytes. */
  long write(Path file, long seed, double std) throws IOException {
    return write(file, seed, std, false);
  }

  /** Writes the header only and extends the file to its full size without writing data (sparse). */
  long writeSparse(Path file) throws IOException {
    return write(file, 0, 0, true);
  }

  private long write(Path file, long seed, double std, boolean sparse) throws IOException {
    List<Tensor> tensors = tensors();
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("general.architecture", "llama");
    meta.put("general.name", "generated");
    meta.put("llama.context_length", (long) c.maxPositions());
    meta.put("llama.embedding_length", (long) c.hiddenSize());
    meta.put("llama.block_count", (long) c.numLayers());
    meta.put("llama.feed_forward_length", (long) c.intermediateSize());
    meta.put("llama.attention.head_count", (long) c.numHeads());
    meta.put("llama.attention.head_count_kv", (long) c.numKvHeads());
    meta.put("llama.rope.dimension_count", (long) c.ropeDim());
    meta.put("llama.rope.freq_base", (float) c.ropeTheta());
    meta.put("llama.attention.layer_norm_rms_epsilon", (float) c.rmsNormEps());
    meta.put("llama.vocab_size", (long) c.vocabSize());
    meta.putAll(extraMetadata);
    Header h = new Header();
    h.u32(0x46554747).u32(3).u64(tensors.size()).u64(meta.size());
    for (Map.Entry<String, Object> e : meta.entrySet()) {
      h.str(e.getKey());
      Object v = e.getValue();
      if (v instanceof String s) {
        h.u32(8).str(s);
      } else if (v instanceof Long l) {
        h.u32(10).u64(l);
      } else if (v instanceof Float f) {
        h.u32(6).f32(f);
      } else if (v instanceof Double dv) {
        h.u32(12).f64(dv);
      } else {
        throw new IllegalArgumentException("metadata " + e.getKey() + ": " + v);
      }
    }
    long offset = 0;
    for (Tensor t : tensors) {
      h.str(t.name()).u32(t.ne().length);
      for (long d : t.ne()) {
        h.u64(d);
      }
      h.u32(switch (t.type()) {
        case F32 -> 0;
        case F16 -> 1;
        case Q8_0 -> 8;
        case BF16 -> 30;
      }).u64(offset);
      offset = align(offset + t.bytes());
    }
    byte[] header = h.padded();
    long total = header.length + offset;
    if (sparse) {
      Files.write(file, header);
      try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
        raf.setLength(total);
      }
      return total;
    }
    SplittableRandom rnd = new SplittableRandom(seed);
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      out.write(header);
      long written = 0;
      for (Tensor t : tensors) {
        long n = t.bytes() / t.type().blockBytes() * t.type().blockElements();
        float[] given = extraData.get(t.name());
        float[] block = new float[32];
        ByteBuffer buf = ByteBuffer.allocate(4 * 32).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i += 32) {
          int len = (int) Math.min(32, n - i);
          for (int j = 0; j < len; j++) {
            block[j] = given != null ? given[(int) i + j]
                : (float) (t.norm() ? 1 + 0.1 * rnd.nextGaussian() : std * rnd.nextGaussian());
          }
          buf.clear();
          encode(t.type(), block, len, buf);
          out.write(buf.array(), 0, buf.position());
        }
        written += t.bytes();
        long pad = align(written) - written;
        out.write(new byte[(int) pad]);
        written += pad;
      }
    }
    return Files.size(file);
  }

  private static void encode(TensorType type, float[] v, int len, ByteBuffer out) {
    switch (type) {
      case F32 -> {
        for (int j = 0; j < len; j++) {
          out.putFloat(v[j]);
        }
      }
      case F16 -> {
        for (int j = 0; j < len; j++) {
          out.putShort(TensorType.floatToHalf(v[j]));
        }
      }
      case BF16 -> {
        for (int j = 0; j < len; j++) {
          out.putShort(TensorType.floatToBf16(v[j]));
        }
      }
      case Q8_0 -> {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
          amax = Math.max(amax, Math.abs(v[j]));
        }
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        out.putShort(TensorType.floatToHalf(d));
        for (int j = 0; j < 32; j++) {
          out.put((byte) Math.round(v[j] * id));
        }
      }
      default -> throw new IllegalStateException();
    }
  }

  private static long align(long v) {
    return (v + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }

  private static final class Header {
    private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    private final ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

    Header u32(long v) {
      out.write(b.clear().putInt((int) v).array(), 0, 4);
      return this;
    }

    Header u64(long v) {
      out.write(b.clear().putLong(v).array(), 0, 8);
      return this;
    }

    Header f32(float v) {
      out.write(b.clear().putFloat(v).array(), 0, 4);
      return this;
    }

    Header f64(double v) {
      out.write(b.clear().putDouble(v).array(), 0, 8);
      return this;
    }

    Header str(String s) {
      byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
      u64(bytes.length);
      out.write(bytes, 0, bytes.length);
      return this;
    }

    byte[] padded() {
      while (out.size() % ALIGNMENT != 0) {
        out.write(0);
      }
      return out.toByteArray();
    }
  }
}
