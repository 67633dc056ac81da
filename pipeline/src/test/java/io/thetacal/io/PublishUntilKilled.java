package io.thetacal.io;

import java.nio.file.Files;
import java.nio.file.Path;

/** Starts publishing a version, writes one file, reports it and then hangs until killed. */
public final class PublishUntilKilled {
  private PublishUntilKilled() {
  }

  public static void main(String[] args) throws Exception {
    new VersionedDirectory(Path.of(args[0])).publish(args[1], dir -> {
      Files.writeString(dir.resolve("thresholds.json"), "{\"partial\": true}");
      System.out.println("WRITING");
      System.out.flush();
      try {
        Thread.sleep(600_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }
}
