package io.thetacal.model;

import java.nio.ByteBuffer;
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
    long elements = t.elements();
    if (elements > Integer.MAX_VALUE - 8) {
      throw new ModelLoadException(dataOf(name).path() + ": tensor '" + name + "' has " + elements
          + " elements, more than one Java array can hold");
    }
    MappedBytes bytes = dataOf(name);
    int count = (int) elements;
    float[] out = new float[count];
    TensorType type = t.type();
    int blocksPerPiece = Math.max(1, (bytes.maxRange() / 2) / type.blockBytes());
    long blocks = count / type.blockElements();
    long done = 0;
    while (done < blocks) {
      int nb = (int) Math.min(blocksPerPiece, blocks - done);
      ByteBuffer piece = bytes.slice(t.offset() + done * type.blockBytes(), nb * type.blockBytes(),
          "data of tensor '" + name + "'");
      type.decode(piece, out, (int) (done * type.blockElements()), nb * type.blockElements());
      done += nb;
    }
    return out;
  }
}
