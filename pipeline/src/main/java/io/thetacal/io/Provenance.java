package io.thetacal.io;

import io.thetacal.calibration.CalibrationConfig;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * How an artifact was made: the model and its weights' hash, the calibration config, a SHA-256 per
 * calibration dataset, the code version, JVM and OS, the creation time and the seed.
 *
 * @param modelId the model id or path
 * @param modelContentHash SHA-256 (hex) of the weights
 * @param config the calibration config
 * @param corpusFingerprints dataset name → SHA-256 hex of its content (sorted by name)
 * @param codeVersion {@link CodeVersion#current()}
 * @param jvm java.vendor, java.version and java.vm.name
 * @param os os.name, os.version and os.arch
 * @param createdAt ISO-8601 instant
 * @param seed the seed of every random choice (splits, sampling)
 */
public record Provenance(
    String modelId,
    String modelContentHash,
    CalibrationConfig config,
    Map<String, String> corpusFingerprints,
    String codeVersion,
    String jvm,
    String os,
    String createdAt,
    long seed) {

  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  public Provenance {
    requireText(modelId, "modelId");
    requireText(modelContentHash, "modelContentHash");
    Objects.requireNonNull(config, "'config' must be set");
    Objects.requireNonNull(corpusFingerprints, "'corpusFingerprints' must be set");
    for (Map.Entry<String, String> e : corpusFingerprints.entrySet()) {
      requireText(e.getKey(), "corpusFingerprints key");
      if (e.getValue() == null || !SHA256.matcher(e.getValue()).matches()) {
        throw new IllegalArgumentException("'corpusFingerprints." + e.getKey() + "' is set to "
            + e.getValue() + " but must be a SHA-256 digest of 64 lowercase hex digits");
      }
    }
    corpusFingerprints = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(corpusFingerprints));
    requireText(codeVersion, "codeVersion");
    requireText(jvm, "jvm");
    requireText(os, "os");
    requireText(createdAt, "createdAt");
    Instant.parse(createdAt);
  }

  private static void requireText(String v, String key) {
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("'" + key + "' is " + (v == null ? "missing" : "blank")
          + " but must be set");
    }
  }

  /** Provenance of an artifact made now, on this JVM, by this code. */
  public static Provenance capture(String modelId, String modelContentHash, CalibrationConfig config,
      Map<String, String> corpusFingerprints, long seed, Clock clock) {
    return new Provenance(modelId, modelContentHash, config, corpusFingerprints, CodeVersion.current(),
        jvmDescription(), osDescription(), Instant.now(clock).toString(), seed);
  }

  /** The JVM an artifact is made on: vendor, version and VM name. */
  public static String jvmDescription() {
    return System.getProperty("java.vendor") + " " + System.getProperty("java.version") + " ("
        + System.getProperty("java.vm.name") + ")";
  }

  /** The OS an artifact is made on: name, version and architecture. */
  public static String osDescription() {
    return System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
        + System.getProperty("os.arch");
  }
}
