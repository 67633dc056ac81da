package io.thetacal.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.thetacal.calibration.Watermark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * version.json: what a threshold store version adds to its thresholds.json: the data watermark (which
 * corpus partitions of which dataset are in its state), the version it continues, and the gate's verdict
 * that admitted (or, under _rejected, refused) it.
 *
 * @param formatVersion {@value #FORMAT_VERSION}
 * @param version the version's name
 * @param parent the version whose state this one continues; null for a first calibration
 * @param createdAt ISO-8601 instant
 * @param watermark the partitions included
 * @param newPartitions how many partitions this version added to its parent's
 * @param gate the gate's verdict
 */
public record VersionRecord(int formatVersion, String version, String parent, String createdAt,
    Watermark watermark, int newPartitions, CandidateGate.Verdict gate) {
  public static final int FORMAT_VERSION = 1;
  public static final String FILE_NAME = "version.json";
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public VersionRecord {
    Objects.requireNonNull(version, "'version' must be set");
    Objects.requireNonNull(createdAt, "'createdAt' must be set");
    Objects.requireNonNull(watermark, "'watermark' must be set");
    Objects.requireNonNull(gate, "'gate' must be set");
  }

  public void write(Path file) throws IOException {
    MAPPER.writeValue(file.toFile(), this);
  }

  /** Reads a version record, naming the file when it is not one. */
  public static VersionRecord read(Path file) throws IOException {
    VersionRecord r;
    try {
      r = MAPPER.readValue(file.toFile(), VersionRecord.class);
    } catch (JsonProcessingException e) {
      throw new IOException(file + " is not a valid version record: " + e.getOriginalMessage(), e);
    }
    if (r.formatVersion != FORMAT_VERSION) {
      throw new IOException(file + " has 'formatVersion' " + r.formatVersion
          + " but this build reads version " + FORMAT_VERSION);
    }
    return r;
  }

  static String toJson(Object o) {
    try {
      return MAPPER.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + o.getClass().getSimpleName() + " as JSON", e);
    }
  }

  static <T> T fromJson(String text, Class<T> type) throws JsonProcessingException {
    return MAPPER.readValue(text, type);
  }
}
