package io.thetacal.model;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Named tensors of a checkpoint (one file or several shards), decoded to float on demand, one tensor at a
 * time, straight from the memory-mapped file.
 */
public interface TensorSource {

  /** The file(s) the tensors come from, for messages and content hashing. */
  List<Path> files();

  /** All tensors by name. */
  Map<String, TensorInfo> tensors();

  /** The file holding a tensor's data. */
  MappedBytes dataOf(String name);

  default boolean has(String name) {
    return tensors().containsKey(name);
  }

  /**
   * Decodes a tensor to float, checking that its row-major shape equals {@code expectedShape}.
   *
   * @throws ModelLoadException when the tensor is missing, has another shape or is too large
   */
  default float[] read(String name, long... expectedShape) {
    TensorInfo t = info(name, expectedShape);
    long elements = t.elements();
    if (elements > Integer.MAX_VALUE - 8) {
      throw new ModelLoadException(dataOf(name).path() + ": tensor '" + name + "' has " + elements
          + " elements, more than one Java array can hold");
    }
    float[] out = new float[(int) elements];
    t.type().decode(dataOf(name), t.offset(), out, 0, out.length, "data of tensor '" + name + "'");
    return out;
  }

  /**
   * A tensor as a [rows × cols] matrix left in its stored encoding in the mapped file, checking that its
   * row-major shape is {@code [rows, cols]}.
   *
   * @throws ModelLoadException when the tensor is missing or has another shape
   */
  default WeightMatrix matrix(String name, int rows, int cols) {
    TensorInfo t = info(name, rows, cols);
    return WeightMatrix.mapped(dataOf(name), t, rows, cols);
  }

  private TensorInfo info(String name, long... expectedShape) {
    TensorInfo t = tensors().get(name);
    if (t == null) {
      throw new ModelLoadException(files() + ": tensor '" + name + "' is missing");
    }
    if (expectedShape.length > 0) {
      long[] s = t.shape();
      if (!Arrays.equals(s, expectedShape)) {
        throw new ModelLoadException(dataOf(name).path() + ": tensor '" + name + "' has shape "
            + Arrays.toString(s) + " but the model configuration expects " + Arrays.toString(expectedShape));
      }
    }
    return t;
  }
}
