package io.thetacal.jobs.ingest;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds artifacts in the local Maven repository, where the built-in corpora come from. The repository
 * is {@code -Dmaven.repo.local}, else {@code $THETACAL_MAVEN_REPO}, else {@code ~/.m2/repository}.
 */
public final class MavenArtifacts {
  private MavenArtifacts() {
  }

  /** The local repository root. */
  public static Path repository() {
    String p = System.getProperty("maven.repo.local");
    if (p == null || p.isBlank()) {
      p = System.getenv("THETACAL_MAVEN_REPO");
    }
    if (p == null || p.isBlank()) {
      return Path.of(System.getProperty("user.home"), ".m2", "repository");
    }
    return Path.of(p);
  }

  /**
   * The jar of {@code group:artifact:version} (with an optional classifier), failing with the command
   * that resolves it when it is not in the local repository.
   */
  public static Path locate(String coordinates, String classifier) {
    String[] parts = coordinates.split(":");
    if (parts.length != 3) {
      throw new IllegalArgumentException(
          "Maven coordinates must be 'group:artifact:version', got '" + coordinates + "'");
    }
    String file = parts[1] + "-" + parts[2] + (classifier == null ? "" : "-" + classifier) + ".jar";
    Path jar = repository().resolve(parts[0].replace('.', '/')).resolve(parts[1]).resolve(parts[2])
        .resolve(file);
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("Corpus artifact " + coordinates
          + (classifier == null ? "" : " (" + classifier + ")") + " is not in the local Maven repository ("
          + jar + "); resolve it with: mvn dependency:get -Dtransitive=false -Dartifact=" + coordinates
          + ":jar" + (classifier == null ? "" : ":" + classifier));
    }
    return jar;
  }
}
