package io.thetacal.model.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * An ONNX TensorProto: name, element type, shape and its data, either as a zero-copy slice of
 * {@code raw_data} or as the typed {@code float_data}/{@code int64_data}/{@code int32_data} values.
 */
public final class OnnxTensor {
  public static final int FLOAT = 1;
  public static final int INT32 = 6;
  public static final int INT64 = 7;
  public static final int DOUBLE = 11;

  private final String source;
  private final String name;
  private final int dataType;
  private final long[] dims;
  private final ByteBuffer raw;
  private final float[] floatData;
  private final long[] int64Data;

  OnnxTensor(String source, String name, int dataType, long[] dims, ByteBuffer raw, float[] floatData,
      long[] int64Data) {
    this.source = source;
    this.name = name;
    this.dataType = dataType;
    this.dims = dims;
    this.raw = raw;
    this.floatData = floatData;
    this.int64Data = int64Data;
  }

  public String name() {
    return name;
  }

  public int dataType() {
    return dataType;
  }

  public long[] dims() {
    return dims.clone();
  }

  public int rank() {
    return dims.length;
  }

  public long numElements() {
    long n = 1;
    for (long d : dims) {
      n *= d;
    }
    return n;
  }

  private String label() {
    return name == null || name.isEmpty() ? "a constant tensor" : "tensor '" + name + "'";
  }

  /** The values as floats; fails naming the tensor when it is not FLOAT or its data size does not match. */
  public float[] toFloats() {
    long count = numElements();
    if (dataType != FLOAT) {
      throw new OnnxFormatException(source + ": " + label() + " has data type " + dataType
          + " but FLOAT (1) was expected");
    }
    if (raw != null) {
      if (raw.remaining() != count * 4) {
        throw new OnnxFormatException(source + ": " + label() + " of shape " + Arrays.toString(dims)
            + " needs " + count * 4 + " bytes of raw_data but holds " + raw.remaining());
      }
      float[] out = new float[(int) count];
      raw.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
      return out;
    }
    if (floatData == null || floatData.length != count) {
      throw new OnnxFormatException(source + ": " + label() + " of shape " + Arrays.toString(dims)
          + " holds " + (floatData == null ? 0 : floatData.length) + " float values, expected " + count);
    }
    return floatData.clone();
  }

  /** The values as longs, from INT64, INT32 or FLOAT data (integral constants such as shapes). */
  public long[] toLongs() {
    long count = numElements();
    if (dataType == INT64 && raw != null) {
      checkRaw(count, 8);
      long[] out = new long[(int) count];
      raw.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
      return out;
    }
    if (dataType == INT32 && raw != null) {
      checkRaw(count, 4);
      long[] out = new long[(int) count];
      var ib = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
      for (int i = 0; i < count; i++) {
        out[i] = ib.get(i);
      }
      return out;
    }
    if ((dataType == INT64 || dataType == INT32) && int64Data != null) {
      if (int64Data.length != count) {
        throw new OnnxFormatException(source + ": " + label() + " of shape " + Arrays.toString(dims)
            + " holds " + int64Data.length + " integer values, expected " + count);
      }
      return int64Data.clone();
    }
    throw new OnnxFormatException(source + ": " + label() + " has data type " + dataType
        + " but an integer tensor was expected");
  }

  /** The single value of a scalar (or one-element) numeric tensor, as a double. */
  public double scalar() {
    if (numElements() != 1) {
      throw new OnnxFormatException(source + ": " + label() + " has shape " + Arrays.toString(dims)
          + " but a scalar was expected");
    }
    return switch (dataType) {
      case FLOAT -> toFloats()[0];
      case INT32, INT64 -> toLongs()[0];
      case DOUBLE -> {
        checkRaw(1, 8);
        yield raw.duplicate().order(ByteOrder.LITTLE_ENDIAN).getDouble(0);
      }
      default -> throw new OnnxFormatException(source + ": " + label() + " has data type "
          + dataType + " but a numeric scalar was expected");
    };
  }

  private void checkRaw(long count, int width) {
    if (raw == null || raw.remaining() != count * width) {
      throw new OnnxFormatException(source + ": " + label() + " of shape " + Arrays.toString(dims)
          + " needs " + count * width + " bytes of raw_data but holds "
          + (raw == null ? 0 : raw.remaining()));
    }
  }

  @Override
  public String toString() {
    return "OnnxTensor[" + name + ", type " + dataType + ", " + Arrays.toString(dims) + "]";
  }
}
