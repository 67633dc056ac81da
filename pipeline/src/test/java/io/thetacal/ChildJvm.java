package io.thetacal;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Launching a child JVM from a test: the same java and the module flags the test JVM runs with. */
public final class ChildJvm {
  private ChildJvm() {
  }

  /** This JVM's java executable. */
  public static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** The module and access flags of the test JVM itself (surefire's argLine), which the code under test needs. */
  public static List<String> moduleFlags() {
    List<String> flags = new ArrayList<>();
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("-XX:+Ignore")
          || a.startsWith("-Dio.netty") || a.startsWith("--enable-native-access")
          || a.startsWith("--sun-misc")) {
        flags.add(a);
      }
    }
    return flags;
  }
}
