package io.thetacal.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A root of immutable, versioned output directories ({@code <root>/<version>/}) published atomically:
 * files are written into a hidden staging directory, a {@value #SUCCESS} marker listing every file's
 * size and SHA-256 is written last, and the directory is then renamed into place. Readers refuse a
 * version directory without the marker, so a crash at any point leaves either the complete version or
 * nothing a reader would take for one.
 */
public final class VersionedDirectory {
  public static final String SUCCESS = "_SUCCESS";
  static final String STAGING = ".staging";
  private static final Pattern VERSION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("'v'yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

  private final Path root;

  /** Writes a version's files into the (staging) directory it is given. */
  @FunctionalInterface
  public interface Writer {
    void write(Path dir) throws IOException;
  }

  /**
   * The content of the marker.
   *
   * @param version the version name
   * @param files file name → size and SHA-256, for every regular file of the version
   */
  public record Marker(String version, Map<String, FileEntry> files) {
  }

  /** One file of a published version. */
  public record FileEntry(long bytes, String sha256) {
  }

  public VersionedDirectory(Path root) {
    this.root = root;
  }

  public Path root() {
    return root;
  }

  /** A version name from the clock, e.g. v20261123T104500Z. */
  public static String timestampVersion(Clock clock) {
    return STAMP.format(clock.instant());
  }

  /**
   * Publishes a new version: {@code writer} fills a staging directory, the marker is written, and the
   * directory is renamed to {@code <root>/<version>}. On any failure the staging directory is removed
   * and nothing is published.
   *
   * @return the published directory
   * @throws IOException when the version exists already (versions are immutable) or writing fails
   */
  public Path publish(String version, Writer writer) throws IOException {
    if (version == null || !VERSION.matcher(version).matches()) {
      throw new IllegalArgumentException("'version' is set to " + version
          + " but must match " + VERSION.pattern());
    }
    Path target = root.resolve(version);
    if (Files.exists(target)) {
      throw new IOException("version " + version + " already exists under " + root
          + "; published versions are immutable, choose a new version name");
    }
    Path stagingRoot = Files.createDirectories(root.resolve(STAGING));
    Path staging = stagingRoot.resolve(version + "-" + UUID.randomUUID());
    Files.createDirectory(staging);
    try {
      writer.write(staging);
      Map<String, FileEntry> files = new TreeMap<>();
      try (Stream<Path> list = Files.list(staging)) {
        for (Path f : list.sorted().toList()) {
          if (!Files.isRegularFile(f)) {
            continue;
          }
          files.put(f.getFileName().toString(), new FileEntry(Files.size(f), Sha256.ofFile(f)));
        }
      }
      if (files.containsKey(SUCCESS)) {
        throw new IOException("the writer of version " + version + " wrote its own " + SUCCESS);
      }
      Path marker = staging.resolve(SUCCESS + ".tmp");
      MAPPER.writeValue(marker.toFile(), new Marker(version, files));
      Files.move(marker, staging.resolve(SUCCESS), StandardCopyOption.ATOMIC_MOVE);
      try {
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("the file system of " + root + " cannot rename " + staging + " to "
            + target + " atomically; publish to a local or HDFS path", e);
      }
      return target;
    } catch (IOException | RuntimeException e) {
      try {
        deleteRecursively(staging);
      } catch (UncheckedIOException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
  }

  /** Complete versions (with a marker), in name order. */
  public List<String> versions() throws IOException {
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        if (Files.isDirectory(p) && VERSION.matcher(name).matches()
            && Files.isRegularFile(p.resolve(SUCCESS))) {
          out.add(name);
        }
      }
    }
    out.sort(Comparator.naturalOrder());
    return out;
  }

  /** The last complete version in name order, if any. */
  public Optional<String> latest() throws IOException {
    List<String> v = versions();
    return v.isEmpty() ? Optional.empty() : Optional.of(v.get(v.size() - 1));
  }

  /**
   * The directory of a complete version.
   *
   * @throws IOException when it does not exist or lacks the marker (an incomplete or foreign directory)
   */
  public Path open(String version) throws IOException {
    Path dir = root.resolve(version);
    if (!Files.isDirectory(dir)) {
      throw new IOException("no version " + version + " under " + root);
    }
    if (!Files.isRegularFile(dir.resolve(SUCCESS))) {
      throw new IOException(dir + " has no " + SUCCESS + " marker: it is incomplete (a crashed or "
          + "unfinished publish) and must not be read");
    }
    return dir;
  }

  /**
   * Opens a version and checks every file listed in its marker against its size and SHA-256.
   *
   * @throws IOException naming the first file that is missing or differs
   */
  public Path openVerified(String version) throws IOException {
    Path dir = open(version);
    Marker marker = MAPPER.readValue(dir.resolve(SUCCESS).toFile(), Marker.class);
    for (Map.Entry<String, FileEntry> e : marker.files().entrySet()) {
      Path f = dir.resolve(e.getKey());
      if (!Files.isRegularFile(f) || Files.size(f) != e.getValue().bytes()
          || !Sha256.ofFile(f).equals(e.getValue().sha256())) {
        throw new IOException(f + " does not match the size and SHA-256 recorded in " + SUCCESS);
      }
    }
    return dir;
  }

  private static void deleteRecursively(Path p) {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(p)) {
      for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(q);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not remove staging directory " + p, e);
    }
  }
}
