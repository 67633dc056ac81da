package io.thetacal.jobs.ingest;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The deterministic calibration/holdout split: a document is in the holdout split when the SHA-256 of
 * (seed, document id), read as a uniform number in [0, 1), is below the holdout fraction. No random
 * generator is involved, so the split is the same on every machine, partitioning and run.
 */
public final class Splits {
  public static final String CALIBRATION = "calibration";
  public static final String HOLDOUT = "holdout";

  private Splits() {
  }

  /** A uniform number in [0, 1) determined by the seed and the document id. */
  public static double unit(long seed, String docId) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(ByteBuffer.allocate(8).putLong(seed).array());
      byte[] h = md.digest(docId.getBytes(StandardCharsets.UTF_8));
      long bits = ByteBuffer.wrap(h).getLong() >>> 11;
      return bits / (double) (1L << 53);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The split of a document. */
  public static String of(long seed, String docId, double holdoutFraction) {
    return unit(seed, docId) < holdoutFraction ? HOLDOUT : CALIBRATION;
  }
}
