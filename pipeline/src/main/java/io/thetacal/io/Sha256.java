package io.thetacal.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** SHA-256 digests as lowercase hex: the one fingerprint of models, corpora and artifact files. */
public final class Sha256 {
  private Sha256() {
  }

  public static String of(byte[] bytes) {
    return HexFormat.of().formatHex(digest().digest(bytes));
  }

  /** Digest of the buffer's remaining bytes; the buffer's position is not changed. */
  public static String of(ByteBuffer bytes) {
    MessageDigest md = digest();
    md.update(bytes.duplicate());
    return HexFormat.of().formatHex(md.digest());
  }

  /** Digest of a file's content, streamed. */
  public static String ofFile(Path file) throws IOException {
    return ofFiles(List.of(file));
  }

  /** Digest of the files' contents concatenated in order, streamed. */
  public static String ofFiles(List<Path> files) throws IOException {
    MessageDigest md = digest();
    byte[] buf = new byte[1 << 16];
    for (Path p : files) {
      try (InputStream in = Files.newInputStream(p)) {
        for (int r; (r = in.read(buf)) > 0; ) {
          md.update(buf, 0, r);
        }
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM lacks SHA-256", e);
    }
  }
}
