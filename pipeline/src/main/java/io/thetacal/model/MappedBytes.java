package io.thetacal.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A read-only, little-endian, memory-mapped view of a whole file of any size. Files larger than one
 * mapping (2 GB) are mapped in overlapping chunks so that any range up to {@link #maxRange()} bytes lies
 * inside a single chunk and can be read without copying. Every read is bounds-checked against the file
 * size and fails with a {@link ModelLoadException} naming the file.
 */
public final class MappedBytes {
  static final long DEFAULT_CHUNK = 1L << 30;
  static final int DEFAULT_OVERLAP = 1 << 24;

  private final Path path;
  private final long size;
  private final long chunk;
  private final int overlap;
  private final ByteBuffer[] maps;

  private MappedBytes(Path path, long size, long chunk, int overlap, MappedByteBuffer[] mapped,
      ByteBuffer heap) {
    this.path = path;
    this.size = size;
    this.chunk = chunk;
    this.overlap = overlap;
    this.maps = heap != null ? new ByteBuffer[] {heap} : mapped;
  }

  /** Maps a file read-only. */
  public static MappedBytes open(Path path) {
    return open(path, DEFAULT_CHUNK, DEFAULT_OVERLAP);
  }

  static MappedBytes open(Path path, long chunk, int overlap) {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = ch.size();
      int count = (int) Math.max(1, (size + chunk - 1) / chunk);
      MappedByteBuffer[] maps = new MappedByteBuffer[count];
      for (int i = 0; i < count; i++) {
        long start = i * chunk;
        long len = Math.min(size - start, chunk + overlap);
        maps[i] = ch.map(FileChannel.MapMode.READ_ONLY, start, Math.max(0, len));
      }
      return new MappedBytes(path, size, chunk, overlap, maps, null);
    } catch (IOException e) {
      throw new ModelLoadException("cannot read model file " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * Wraps bytes already in memory (e.g. a downloaded file or a fuzzer input) under a name used in
   * messages.
   */
  public static MappedBytes wrap(Path name, ByteBuffer buffer) {
    ByteBuffer b = buffer.slice();
    MappedByteBuffer[] maps = {null};
    return new MappedBytes(name, b.remaining(), Long.MAX_VALUE / 2, Integer.MAX_VALUE - 8, maps, b);
  }

  public Path path() {
    return path;
  }

  public long size() {
    return size;
  }

  /** The longest range {@link #slice} accepts. */
  public int maxRange() {
    return overlap;
  }

  /** Fails unless {@code [offset, offset + length)} lies within the file. */
  public void check(long offset, long length, String what) {
    if (offset < 0 || length < 0 || offset > size || length > size - offset) {
      throw new ModelLoadException(path + ": " + what + " at byte offset " + offset + " needs " + length
          + " bytes but the file has only " + size + " bytes (truncated or corrupt)");
    }
  }

  /** A little-endian view of {@code [offset, offset + length)}, length at most {@link #maxRange()}. */
  public ByteBuffer slice(long offset, int length, String what) {
    check(offset, length, what);
    if (length > overlap) {
      throw new IllegalArgumentException("range of " + length + " bytes exceeds " + overlap);
    }
    int idx = (int) (offset / chunk);
    if (idx == maps.length) {
      idx--;
    }
    int local = (int) (offset - idx * chunk);
    return maps[idx].duplicate().position(local).limit(local + length).slice()
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  public byte get(long offset, String what) {
    return slice(offset, 1, what).get(0);
  }

  public int getInt(long offset, String what) {
    return slice(offset, 4, what).getInt(0);
  }

  public long getLong(long offset, String what) {
    return slice(offset, 8, what).getLong(0);
  }

  /** Copies {@code dst.length} bytes starting at offset. */
  public void get(long offset, byte[] dst, String what) {
    check(offset, dst.length, what);
    int done = 0;
    while (done < dst.length) {
      int len = Math.min(overlap, dst.length - done);
      slice(offset + done, len, what).get(dst, done, len);
      done += len;
    }
  }
}
