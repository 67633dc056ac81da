package io.thetacal.io;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The version of the code that made an artifact: from the {@code io/thetacal/version.properties}
 * resource that the build generates, else the jar manifest's Implementation-Version, else "unknown".
 */
public final class CodeVersion {
  private static final String RESOURCE = "/io/thetacal/version.properties";

  private CodeVersion() {
  }

  public static String current() {
    try (InputStream in = CodeVersion.class.getResourceAsStream(RESOURCE)) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        String v = p.getProperty("version");
        if (v != null && !v.isBlank() && !v.startsWith("${")) {
          String built = p.getProperty("built", "");
          return built.isBlank() || built.startsWith("${") ? v : v + " (built " + built + ")";
        }
      }
    } catch (IOException e) {
      // fall through to the manifest
    }
    String impl = CodeVersion.class.getPackage().getImplementationVersion();
    return impl != null ? impl : "unknown";
  }
}
