package io.thetacal.model;

import java.util.Arrays;

/**
 * One tensor of a checkpoint file, validated against the file: where its bytes are and how to decode
 * them.
 *
 * @param name tensor name as stored
 * @param shape row-major shape (last index contiguous), e.g. [out, in] for a linear weight
 * @param type element encoding
 * @param offset absolute byte offset of the data in the file
 * @param byteSize length of the data in bytes
 */
public record TensorInfo(String name, long[] shape, TensorType type, long offset, long byteSize) {
  public TensorInfo {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  public long elements() {
    long e = 1;
    for (long d : shape) {
      e *= d;
    }
    return e;
  }

  @Override
  public String toString() {
    return name + " " + type + " " + Arrays.toString(shape) + " @" + offset;
  }
}
