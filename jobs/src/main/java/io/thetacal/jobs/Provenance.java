package io.thetacal.jobs;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;

/** Where and when an artifact was made: code version, JVM, OS and time, recorded in every manifest. */
public final class Provenance {
  private Provenance() {
  }

  /** The thetacal version from the jar manifest, or "dev" when running from classes. */
  public static String version() {
    String v = Provenance.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
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
