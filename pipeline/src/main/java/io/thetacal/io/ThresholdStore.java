package io.thetacal.io;

import io.thetacal.calibration.CalibrationState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The published threshold versions under {@code <out>/thresholds/}: complete version directories
 * ({@link VersionedDirectory}), a pointer file {@value #POINTER} naming the current one, a history log
 * of every pointer switch, rejected candidates under {@value #REJECTED}, and the {@link StoreLock}.
 *
 * <p>The pointer is switched atomically: the new name is written to a temporary file, forced to disk
 * and renamed over the pointer; readers see the old or the new name, never a mix, and only ever resolve
 * it to a version whose {@value VersionedDirectory#SUCCESS} marker exists. A missing or dangling pointer
 * is reported as an error, never replaced by a guess. Version names are ordered by time
 * ({@link #nextVersionName()}), so the version before the current one in name order is the one
 * {@link #rollback} returns to. Mutating calls require the store's lock.
 */
public final class ThresholdStore {
  public static final String DIRECTORY = "thresholds";
  public static final String POINTER = "CURRENT";
  public static final String HISTORY = "_history.jsonl";
  public static final String REJECTED = "_rejected";
  public static final String REPORT = "report.json";
  public static final String REASON = "reason.txt";

  private final Path root;
  private final VersionedDirectory versions;
  private final VersionedDirectory rejected;
  private final Clock clock;

  /**
   * One switch of the pointer, as logged.
   *
   * @param at ISO-8601 instant
   * @param action publish, promote or rollback
   * @param version the version made current
   * @param previous the version current before, or null
   * @param pid the process that switched
   */
  public record HistoryEntry(String at, String action, String version, String previous, long pid) {
  }

  /**
   * One version as listed to users.
   *
   * @param record its version.json; null for a version published without one (by a plain calibration)
   */
  public record Listing(String version, boolean current, VersionRecord record) {
  }

  /** A store at {@code <thresholdsDir>}. */
  public ThresholdStore(Path thresholdsDir, Clock clock) {
    this.root = Objects.requireNonNull(thresholdsDir, "thresholdsDir");
    this.versions = new VersionedDirectory(root);
    this.rejected = new VersionedDirectory(root.resolve(REJECTED));
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** The store under an output root: {@code <out>/thresholds/}. */
  public static ThresholdStore under(Path outputRoot, Clock clock) {
    return new ThresholdStore(outputRoot.resolve(DIRECTORY), clock);
  }

  public Path root() {
    return root;
  }

  public Clock clock() {
    return clock;
  }

  /** Takes the store's lock, naming {@code command} as what holds it. */
  public StoreLock lock(String command) throws IOException {
    Files.createDirectories(root);
    return StoreLock.acquire(root, command, clock);
  }

  /** Complete published versions, oldest first. */
  public List<String> versions() throws IOException {
    return versions.versions();
  }

  /** Complete rejected candidates, oldest first. */
  public List<String> rejectedVersions() throws IOException {
    return rejected.versions();
  }

  /**
   * The current version; empty only for a store where nothing was ever published.
   *
   * @throws IOException when the pointer is missing although versions exist, or names a version that
   *     is not complete (dangling)
   */
  public Optional<String> current() throws IOException {
    Path pointer = root.resolve(POINTER);
    String name;
    try {
      name = Files.readString(pointer, StandardCharsets.UTF_8).strip();
    } catch (NoSuchFileException e) {
      List<String> v = versions();
      if (v.isEmpty()) {
        return Optional.empty();
      }
      throw new IOException("the pointer " + pointer + " is missing but " + root + " holds versions "
          + v + "; choose one with 'thetacal promote VERSION'", e);
    }
    try {
      versions.open(name);
    } catch (IOException | IllegalArgumentException e) {
      throw new IOException("the pointer " + pointer + " names version '" + name
          + "' which is not a complete version (" + e.getMessage() + "); choose one of " + versions()
          + " with 'thetacal promote VERSION'", e);
    }
    return Optional.of(name);
  }

  /** The current version's directory, checked against its marker's sizes and SHA-256s. */
  public Path openCurrent() throws IOException {
    String v = current().orElseThrow(() -> new IOException("no threshold version has been published"
        + " under " + root + " yet"));
    return versions.openVerified(v);
  }

  /** The directory of a complete version, checked against its marker. */
  public Path openVerified(String version) throws IOException {
    return versions.openVerified(version);
  }

  /** The version.json of a version, or empty when it was published without one. */
  public Optional<VersionRecord> record(String version) throws IOException {
    Path f = versions.open(version).resolve(VersionRecord.FILE_NAME);
    return Files.isRegularFile(f) ? Optional.of(VersionRecord.read(f)) : Optional.empty();
  }

  /** The thresholds.json of a version. */
  public ThresholdManifest manifest(String version) throws IOException {
    return ThresholdArtifacts.readManifest(versions, version);
  }

  /** The mergeable state of a version. */
  public CalibrationState state(String version) throws IOException {
    return ThresholdArtifacts.readState(versions, version);
  }

  /** The directory of a rejected candidate. */
  public Path openRejected(String version) throws IOException {
    return rejected.open(version);
  }

  /** Every version with its record, oldest first, marking the current one. */
  public List<Listing> list() throws IOException {
    String cur = current().orElse(null);
    List<Listing> out = new ArrayList<>();
    for (String v : versions()) {
      out.add(new Listing(v, v.equals(cur), record(v).orElse(null)));
    }
    return out;
  }

  /**
   * A fresh version name from the clock (e.g. v20261123T104500Z), later in name order than every
   * published and rejected version: a suffix .001, .002, ... is added when the second is taken or the
   * clock is behind the newest version.
   */
  public String nextVersionName() throws IOException {
    String stamp = VersionedDirectory.timestampVersion(clock);
    String newest = Stream.concat(versions().stream(), rejectedVersions().stream())
        .max(Comparator.naturalOrder()).orElse(null);
    if (newest == null || stamp.compareTo(newest) > 0) {
      return stamp;
    }
    String base = newest;
    int seq = 0;
    if (newest.length() == stamp.length() + 4
        && newest.substring(stamp.length()).matches("\\.[0-9]{3}")) {
      base = newest.substring(0, stamp.length());
      seq = Integer.parseInt(newest.substring(stamp.length() + 1));
    }
    if (seq >= 999) {
      throw new IOException("more than 999 versions named " + base + ".NNN; the clock of this host"
          + " appears to be behind " + newest);
    }
    return String.format(java.util.Locale.ROOT, "%s.%03d", base, seq + 1);
  }

  /**
   * Publishes a candidate that passed its gate and makes it current: its thresholds.json,
   * thresholds.arrow and state.bin, its version.json and the gate's report.json are written in full
   * and marked complete, then the pointer is switched.
   */
  public Path publish(StoreLock lock, CandidateGate.Candidate candidate, VersionRecord record)
      throws IOException {
    requireHeld(lock);
    if (!record.gate().pass()) {
      throw new IllegalArgumentException("version " + candidate.version() + " failed gate '"
          + record.gate().gate() + "' and must be rejected, not published");
    }
    Path dir = versions.publish(candidate.version(), d -> writeCandidate(d, candidate, record));
    switchTo(candidate.version(), "publish");
    return dir;
  }

  /**
   * Keeps a candidate that failed its gate under {@code _rejected/<version>/} with its report and the
   * reason; the pointer is not touched.
   */
  public Path reject(StoreLock lock, CandidateGate.Candidate candidate, VersionRecord record)
      throws IOException {
    requireHeld(lock);
    return rejected.publish(candidate.version(), d -> {
      writeCandidate(d, candidate, record);
      Files.writeString(d.resolve(REASON), "rejected by gate '" + record.gate().gate() + "':\n"
          + String.join("\n", record.gate().reasons()) + "\n");
    });
  }

  private static void writeCandidate(Path d, CandidateGate.Candidate c, VersionRecord r)
      throws IOException {
    ThresholdArtifacts.write(d, c.table(), c.state(), c.manifest());
    r.write(d.resolve(VersionRecord.FILE_NAME));
    if (r.gate().reportJson() != null) {
      Files.writeString(d.resolve(REPORT), r.gate().reportJson());
    }
  }

  /** Makes a complete, verified version current. */
  public void promote(StoreLock lock, String version) throws IOException {
    requireHeld(lock);
    versions.openVerified(version);
    switchTo(version, "promote");
  }

  /** Takes the lock and promotes. */
  public void promote(String version) throws IOException {
    try (StoreLock lock = lock("promote " + version)) {
      promote(lock, version);
    }
  }

  /** The version a rollback returns to: the newest complete version older than the current one. */
  public Optional<String> previous() throws IOException {
    Optional<String> cur = current();
    if (cur.isEmpty()) {
      return Optional.empty();
    }
    return versions().stream().filter(v -> v.compareTo(cur.get()) < 0)
        .max(Comparator.naturalOrder());
  }

  /**
   * Switches the pointer back to the previous version.
   *
   * @return the version now current
   * @throws IOException when there is no older version
   */
  public String rollback(StoreLock lock) throws IOException {
    requireHeld(lock);
    String cur = current().orElseThrow(() -> new IOException("nothing to roll back: no version has"
        + " been published under " + root));
    String target = previous().orElseThrow(() -> new IOException("nothing to roll back to: "
        + cur + " is the oldest version under " + root));
    versions.openVerified(target);
    switchTo(target, "rollback");
    return target;
  }

  /** Takes the lock and rolls back. */
  public String rollback() throws IOException {
    try (StoreLock lock = lock("rollback")) {
      return rollback(lock);
    }
  }

  /**
   * Keeps the newest {@code keep} published versions (and rejected candidates) plus, always, the
   * current version and the one a rollback returns to; deletes the rest. A version is first renamed
   * into the hidden staging area, so a crash mid-deletion never leaves a partial version in place.
   *
   * @return the pruned names, published and rejected
   */
  public List<String> prune(StoreLock lock, int keep) throws IOException {
    requireHeld(lock);
    if (keep < 2) {
      throw new IllegalArgumentException("'retention' is set to " + keep
          + " but must be >= 2 (the current version and the one a rollback returns to)");
    }
    Set<String> kept = new LinkedHashSet<>();
    current().ifPresent(kept::add);
    previous().ifPresent(kept::add);
    List<String> out = new ArrayList<>();
    out.addAll(pruneOldest(versions, versions.versions(), keep, kept));
    out.addAll(pruneOldest(rejected, rejected.versions(), keep, Set.of()));
    return out;
  }

  private List<String> pruneOldest(VersionedDirectory dir, List<String> names, int keep,
      Set<String> protectedNames) throws IOException {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < names.size() - keep; i++) {
      String v = names.get(i);
      if (protectedNames.contains(v)) {
        continue;
      }
      Path staging = Files.createDirectories(dir.root().resolve(VersionedDirectory.STAGING));
      Path trash = staging.resolve(".pruned-" + v + "-" + UUID.randomUUID());
      Files.move(dir.root().resolve(v), trash, StandardCopyOption.ATOMIC_MOVE);
      deleteRecursively(trash);
      out.add(v);
    }
    return out;
  }

  /**
   * Removes what crashed runs left behind: staging directories and temporary pointer files. Only
   * safe while holding the lock, since a running publish owns its staging directory.
   *
   * @return how many leftovers were removed
   */
  public int cleanLeftovers(StoreLock lock) throws IOException {
    requireHeld(lock);
    int n = 0;
    for (Path staging : List.of(root.resolve(VersionedDirectory.STAGING),
        root.resolve(REJECTED).resolve(VersionedDirectory.STAGING))) {
      if (Files.isDirectory(staging)) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(staging)) {
          for (Path p : ds) {
            deleteRecursively(p);
            n++;
          }
        }
      }
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, POINTER + ".tmp-*")) {
      for (Path p : ds) {
        Files.deleteIfExists(p);
        n++;
      }
    }
    return n;
  }

  /** Every pointer switch, oldest first (a line torn by a crash is skipped). */
  public List<HistoryEntry> history() throws IOException {
    Path f = root.resolve(HISTORY);
    List<HistoryEntry> out = new ArrayList<>();
    if (!Files.isRegularFile(f)) {
      return out;
    }
    for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      try {
        out.add(VersionRecord.fromJson(line, HistoryEntry.class));
      } catch (IOException e) {
        // a line torn by a crash during its append: the switch it announced may not have happened
      }
    }
    return out;
  }

  /**
   * Logs the switch, then replaces the pointer atomically: a temporary file with the new name is
   * forced to disk and renamed over the pointer, and the directory is forced.
   */
  private void switchTo(String version, String action) throws IOException {
    Path pointer = root.resolve(POINTER);
    String previous = Files.isRegularFile(pointer)
        ? Files.readString(pointer, StandardCharsets.UTF_8).strip() : null;
    HistoryEntry entry = new HistoryEntry(Instant.now(clock).toString(), action, version, previous,
        ProcessHandle.current().pid());
    appendForced(root.resolve(HISTORY), (VersionRecord.toJson(entry).replace('\n', ' ') + "\n"));
    Path tmp = root.resolve(POINTER + ".tmp-" + UUID.randomUUID());
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap((version + "\n").getBytes(StandardCharsets.UTF_8)));
      ch.force(true);
    }
    Files.move(tmp, pointer, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    forceDirectory(root);
  }

  private static void appendForced(Path file, String line) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND)) {
      ch.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)));
      ch.force(true);
    }
  }

  private static void forceDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // not every platform can open a directory for fsync; the rename itself is atomic regardless
    }
  }

  private void requireHeld(StoreLock lock) {
    Objects.requireNonNull(lock, "changing the threshold store needs its lock (ThresholdStore.lock)");
    if (!lock.isHeldOn(root)) {
      throw new IllegalStateException("the lock given is not a held lock of " + root);
    }
  }

  private static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(p)) {
      for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(q);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
