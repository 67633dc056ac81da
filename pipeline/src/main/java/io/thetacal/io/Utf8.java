package io.thetacal.io;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Strict UTF-8 decoding, the one way thetacal turns untrusted bytes into text: a byte that is not valid
 * UTF-8 is reported with its offset instead of being replaced, so a corpus line, a model file's string or a
 * tokenizer never changes silently on its way in.
 */
public final class Utf8 {
  private Utf8() {
  }

  /** The text of the buffer's remaining bytes; the buffer's position is not changed. */
  public static String decode(ByteBuffer bytes) throws InvalidUtf8Exception {
    ByteBuffer in = bytes.duplicate();
    int start = in.position();
    // UTF-8 never decodes to more chars than it has bytes, so one pass fills the buffer without overflow
    CharBuffer out = CharBuffer.allocate(in.remaining());
    var decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    CoderResult r = decoder.decode(in, out, true);
    if (!r.isError()) {
      r = decoder.flush(out);
    }
    if (r.isError()) {
      throw new InvalidUtf8Exception(in.position() - start, bytes.remaining());
    }
    return out.flip().toString();
  }

  /** The text of {@code length} bytes of {@code bytes} from {@code offset}. */
  public static String decode(byte[] bytes, int offset, int length) throws InvalidUtf8Exception {
    return decode(ByteBuffer.wrap(bytes, offset, length));
  }

  public static String decode(byte[] bytes) throws InvalidUtf8Exception {
    return decode(bytes, 0, bytes.length);
  }

  /** Bytes that are not valid UTF-8, with the offset of the first byte that is not. */
  public static final class InvalidUtf8Exception extends Exception {
    private static final long serialVersionUID = 1L;
    private final long offset;
    private final long length;

    InvalidUtf8Exception(long offset, long length) {
      super("not valid UTF-8: byte offset " + offset + " of " + length);
      this.offset = offset;
      this.length = length;
    }

    /** Offset of the first invalid byte, from the start of the decoded bytes. */
    public long offset() {
      return offset;
    }

    /** How many bytes were to be decoded. */
    public long length() {
      return length;
    }
  }
}
