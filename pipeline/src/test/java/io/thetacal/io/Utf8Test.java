package io.thetacal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8Test {
  private static long invalidAt(byte... bytes) {
    return assertThrows(Utf8.InvalidUtf8Exception.class, () -> Utf8.decode(bytes)).offset();
  }

  @Test
  void validTextOfEveryEncodedLengthDecodesToItself() throws Exception {
    String text = "a é € 𝄞 end";
    assertEquals(text, Utf8.decode(text.getBytes(StandardCharsets.UTF_8)));
    assertEquals("", Utf8.decode(new byte[0]));
  }

  @Test
  void theFirstInvalidByteIsReportedByItsOffset() {
    assertEquals(3, invalidAt((byte) 'C', (byte) 'a', (byte) 'f', (byte) 0xC3, (byte) 0x28, (byte) 0xFF));
    assertEquals(0, invalidAt((byte) 0xFF));
    Utf8.InvalidUtf8Exception e = assertThrows(Utf8.InvalidUtf8Exception.class,
        () -> Utf8.decode(new byte[] {'o', 'k', (byte) 0x80}));
    assertEquals("not valid UTF-8: byte offset 2 of 3", e.getMessage());
    assertEquals(3, e.length());
  }

  @Test
  void formsThatLenientDecodersAcceptAreRefused() {
    assertEquals(1, invalidAt((byte) 'x', (byte) 0xC0, (byte) 0xAF), "overlong encoding of '/'");
    assertEquals(0, invalidAt((byte) 0xED, (byte) 0xA0, (byte) 0x80), "an encoded surrogate");
    assertEquals(2, invalidAt((byte) 'a', (byte) 'b', (byte) 0xE2, (byte) 0x82),
        "a sequence cut short at the end");
  }

  @Test
  void offsetsCountFromTheBufferPositionWhichIsLeftUnchanged() {
    ByteBuffer b = ByteBuffer.wrap(new byte[] {'z', 'z', 'o', (byte) 0xFE});
    b.position(2);
    assertEquals(1, assertThrows(Utf8.InvalidUtf8Exception.class, () -> Utf8.decode(b)).offset());
    assertEquals(2, b.position());
    assertEquals(1, assertThrows(Utf8.InvalidUtf8Exception.class,
        () -> Utf8.decode(new byte[] {'q', 'o', (byte) 0xFE, 'w'}, 1, 3)).offset());
  }
}
