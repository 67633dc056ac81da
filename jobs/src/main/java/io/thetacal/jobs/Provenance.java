package io.thetacal.jobs;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;

/**
 * Where and when an ingest artifact was made: code version, JVM, OS and time (threshold manifests use
 * the pipeline's {@link io.thetacal.io.Provenance}, which adds the model and calibration config).
 */
public final class Provenance {
  private Provenance() {
  }

  /** The code version, as every artifact of the pipeline records it. */
  public static String version() {
    return io.thetacal.io.CodeVersion.current();
  }

  public static ObjectNode current() {
    ObjectNode n = JsonNodeFactory.instance.objectNode();
    n.put("thetacal_version", version());
    n.put("created_at", Instant.now().toString());
    n.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")");
    n.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
        + System.getProperty("os.arch"));
    return n;
  }
}
