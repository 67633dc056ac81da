package io.thetacal.model;

import java.nio.ByteBuffer;

/**
 * Element encodings of checkpoint tensors that can be decoded to float: plain F32, F16 and BF16, and
 * ggml's Q8_0 blocks (32 int8 values sharing one F16 scale, 34 bytes per block).
 */
public enum TensorType {
  F32(1, 4),
  F16(1, 2),
  BF16(1, 2),
  Q8_0(32, 34);

  private static final float[] HALF = new float[1 << 16];

  static {
    for (int h = 0; h < HALF.length; h++) {
      HALF[h] = halfToFloat(h);
    }
  }

  private static final ThreadLocal<byte[]> Q8_RAW = ThreadLocal.withInitial(() -> new byte[34 * 1024]);

  private final int blockElements;
  private final int blockBytes;

  TensorType(int blockElements, int blockBytes) {
    this.blockElements = blockElements;
    this.blockBytes = blockBytes;
  }

  /** Elements per block (1 for plain types). */
  public int blockElements() {
    return blockElements;
  }

  /** Bytes per block. */
  public int blockBytes() {
    return blockBytes;
  }

  /**
   * Bytes that {@code elements} values occupy, or -1 when the count is not a whole number of blocks.
   *
   * @throws ArithmeticException on overflow
   */
  public long byteSize(long elements) {
    if (elements % blockElements != 0) {
      return -1;
    }
    return Math.multiplyExact(elements / blockElements, (long) blockBytes);
  }

  /**
   * Decodes {@code count} elements (a whole number of blocks) stored at {@code byteOffset} of a mapped
   * file into dst[off..], in pieces that each lie inside one mapping.
   */
  public void decode(MappedBytes bytes, long byteOffset, float[] dst, int off, int count, String what) {
    if (count % blockElements != 0) {
      throw new IllegalArgumentException(count + " elements are not a whole number of " + name() + " blocks");
    }
    int blocksPerPiece = Math.max(1, (bytes.maxRange() / 2) / blockBytes);
    int blocks = count / blockElements;
    int done = 0;
    while (done < blocks) {
      int nb = Math.min(blocksPerPiece, blocks - done);
      ByteBuffer piece = bytes.slice(byteOffset + (long) done * blockBytes, nb * blockBytes, what);
      decode(piece, dst, off + done * blockElements, nb * blockElements);
      done += nb;
    }
  }

  /** Decodes {@code count} elements (a whole number of blocks) from {@code src} into dst[off..]. */
  public void decode(ByteBuffer src, float[] dst, int off, int count) {
    switch (this) {
      case F32 -> src.asFloatBuffer().get(dst, off, count);
      case F16 -> {
        for (int i = 0; i < count; i++) {
          dst[off + i] = HALF[src.getShort(2 * i) & 0xffff];
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          dst[off + i] = Float.intBitsToFloat((src.getShort(2 * i) & 0xffff) << 16);
        }
      }
      case Q8_0 -> {
        // bulk-copied to a per-thread array first: element-wise reads of a direct buffer cost more
        byte[] raw = Q8_RAW.get();
        int perPiece = raw.length / 34;
        int blocks = count / 32;
        for (int b0 = 0; b0 < blocks; b0 += perPiece) {
          int nb = Math.min(perPiece, blocks - b0);
          src.get(b0 * 34, raw, 0, nb * 34);
          for (int b = 0; b < nb; b++) {
            int base = b * 34;
            float d = HALF[(raw[base] & 0xff) | (raw[base + 1] & 0xff) << 8];
            int o = off + (b0 + b) * 32;
            for (int i = 0; i < 32; i++) {
              dst[o + i] = d * raw[base + 2 + i];
            }
          }
        }
      }
      default -> throw new IllegalStateException(name());
    }
  }

  /** IEEE-754 binary16 bits to float. */
  public static float halfToFloat(int h) {
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      if (mant == 0) {
        return Float.intBitsToFloat(sign);
      }
      float v = mant * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** Float to IEEE-754 binary16 bits, round to nearest even. */
  public static short floatToHalf(float f) {
    int bits = Float.floatToIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exp = ((bits >>> 23) & 0xff) - 127 + 15;
    int mant = bits & 0x7fffff;
    if (((bits >>> 23) & 0xff) == 0xff) {
      return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
    }
    if (exp >= 0x1f) {
      return (short) (sign | 0x7c00);
    }
    if (exp <= 0) {
      if (exp < -10) {
        return (short) sign;
      }
      mant |= 0x800000;
      int shift = 14 - exp;
      int half = mant >>> shift;
      int rem = mant & ((1 << shift) - 1);
      int mid = 1 << (shift - 1);
      if (rem > mid || (rem == mid && (half & 1) != 0)) {
        half++;
      }
      return (short) (sign | half);
    }
    int half = (exp << 10) | (mant >>> 13);
    int rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
      half++;
    }
    return (short) (sign | half);
  }

  /** Float to bfloat16 bits, round to nearest even. */
  public static short floatToBf16(float f) {
    int bits = Float.floatToIntBits(f);
    if (Float.isNaN(f)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    int rounding = 0x7fff + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }
}
