package io.thetacal.model;

import java.util.List;
import java.util.Objects;

/**
 * A row-major [rows × cols] weight matrix that is decoded to float a block of rows at a time, so that a
 * checkpoint's F16, BF16 or Q8_0 tensors stay in their stored form (memory-mapped) and never need
 * rows × cols floats in one array. Matrix products decode tiles of rows into a reusable scratch buffer and
 * multiply those (see {@code Parallel.linear} in the decoder); embedding lookups decode single rows.
 */
public sealed interface WeightMatrix permits WeightMatrix.Dense, WeightMatrix.Mapped, WeightMatrix.Stacked {

  int rows();

  int cols();

  /** Decodes rows {@code [r0, r0 + count)} into {@code dst[off ..]}, row-major with stride cols. */
  void decodeRows(int r0, int count, float[] dst, int off);

  /** The whole matrix as one row-major float array when it already lives on the heap, else null. */
  default float[] heapArray() {
    return null;
  }

  /** Bytes the matrix occupies where it is stored (file bytes for mapped tensors, 4 per float on the heap). */
  long storedBytes();

  /** The whole matrix decoded into a new array (small matrices and tests only). */
  default float[] toFloats() {
    long n = (long) rows() * cols();
    if (n > Integer.MAX_VALUE - 8) {
      throw new IllegalStateException(rows() + " × " + cols() + " matrix does not fit one Java array");
    }
    float[] out = new float[(int) n];
    decodeRows(0, rows(), out, 0);
    return out;
  }

  /** A heap matrix over {@code data} (not copied), which must hold rows × cols floats. */
  static WeightMatrix of(float[] data, int rows, int cols) {
    return new Dense(data, rows, cols);
  }

  /**
   * Rows of a stored tensor, read from the mapping on every use.
   *
   * @throws ModelLoadException when a row is not a whole number of the type's blocks
   */
  static WeightMatrix mapped(MappedBytes bytes, TensorInfo tensor, int rows, int cols) {
    return new Mapped(bytes, tensor, rows, cols);
  }

  /** The row blocks of {@code parts} (equal cols) one after the other, without copying. */
  static WeightMatrix stack(WeightMatrix... parts) {
    return new Stacked(List.of(parts));
  }

  /** A matrix already decoded to float on the heap. */
  record Dense(float[] data, int rows, int cols) implements WeightMatrix {
    public Dense {
      Objects.requireNonNull(data, "data");
      if (rows <= 0 || cols <= 0 || (long) rows * cols != data.length) {
        throw new IllegalArgumentException("a " + rows + " × " + cols + " matrix needs " + (long) rows * cols
            + " floats but the array has " + data.length);
      }
    }

    @Override
    public void decodeRows(int r0, int count, float[] dst, int off) {
      System.arraycopy(data, r0 * cols, dst, off, count * cols);
    }

    @Override
    public float[] heapArray() {
      return data;
    }

    @Override
    public long storedBytes() {
      return 4L * data.length;
    }
  }

  /** A tensor left in its stored encoding inside a memory-mapped file. */
  record Mapped(MappedBytes bytes, TensorInfo tensor, int rows, int cols) implements WeightMatrix {
    public Mapped {
      Objects.requireNonNull(bytes, "bytes");
      Objects.requireNonNull(tensor, "tensor");
      TensorType type = tensor.type();
      if (rows <= 0 || cols <= 0 || (long) rows * cols != tensor.elements()) {
        throw new IllegalArgumentException("tensor '" + tensor.name() + "' has " + tensor.elements()
            + " elements, not " + rows + " × " + cols);
      }
      if (cols % type.blockElements() != 0) {
        throw new ModelLoadException(bytes.path() + ": tensor '" + tensor.name() + "' has rows of " + cols
            + " elements but " + type + " rows must be a multiple of " + type.blockElements());
      }
      bytes.check(tensor.offset(), tensor.byteSize(), "data of tensor '" + tensor.name() + "'");
    }

    @Override
    public void decodeRows(int r0, int count, float[] dst, int off) {
      if (r0 < 0 || count < 0 || r0 > rows - count) {
        throw new IndexOutOfBoundsException("rows [" + r0 + ", " + (r0 + count) + ") of " + rows);
      }
      TensorType type = tensor.type();
      long rowBytes = (long) cols / type.blockElements() * type.blockBytes();
      type.decode(bytes, tensor.offset() + r0 * rowBytes, dst, off, count * cols,
          "data of tensor '" + tensor.name() + "'");
    }

    @Override
    public long storedBytes() {
      return tensor.byteSize();
    }
  }

  /** Row blocks of several matrices seen as one (fused Q/K/V or gate/up projections). */
  record Stacked(List<WeightMatrix> parts) implements WeightMatrix {
    public Stacked {
      parts = List.copyOf(parts);
      if (parts.isEmpty()) {
        throw new IllegalArgumentException("nothing to stack");
      }
      long rows = 0;
      for (WeightMatrix p : parts) {
        if (p.cols() != parts.get(0).cols()) {
          throw new IllegalArgumentException("stacked matrices need equal cols: " + p.cols() + " vs "
              + parts.get(0).cols());
        }
        rows += p.rows();
      }
      if (rows > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("stacked matrices have " + rows + " rows");
      }
    }

    @Override
    public int rows() {
      int r = 0;
      for (WeightMatrix p : parts) {
        r += p.rows();
      }
      return r;
    }

    @Override
    public int cols() {
      return parts.get(0).cols();
    }

    @Override
    public void decodeRows(int r0, int count, float[] dst, int off) {
      int cols = cols();
      int base = 0;
      for (WeightMatrix p : parts) {
        int from = Math.max(r0, base);
        int to = Math.min(r0 + count, base + p.rows());
        if (from < to) {
          p.decodeRows(from - base, to - from, dst, off + (from - r0) * cols);
        }
        base += p.rows();
      }
    }

    @Override
    public long storedBytes() {
      long b = 0;
      for (WeightMatrix p : parts) {
        b += p.storedBytes();
      }
      return b;
    }
  }
}
