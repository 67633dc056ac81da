package io.thetacal.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;

/**
 * The exclusive lock of a threshold store, held for a whole refresh, promote or rollback. It is an OS
 * file lock ({@link FileChannel#tryLock}) on {@code <root>/.lock}, which the OS releases when the holder
 * dies (also on kill -9); the holder writes its pid, host and start time into the file so that a second
 * process can name it, and clears the file on a clean release. Content left in a file whose OS lock is
 * free therefore means the previous holder died while holding it: such a stale lock is reported
 * ({@link #staleHolder()}), never taken over silently, and refused outright when the recorded holder
 * process still runs on this host (the file system does not enforce the lock then).
 */
public final class StoreLock implements AutoCloseable {
  public static final String FILE_NAME = ".lock";
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final Path root;
  private final FileChannel channel;
  private final FileLock lock;
  private final Holder holder;
  private final Holder staleHolder;

  /**
   * Who holds a lock.
   *
   * @param pid process id
   * @param host host name
   * @param startedAt when the lock was taken (ISO-8601)
   * @param command what the holder runs (e.g. "refresh")
   */
  public record Holder(long pid, String host, String startedAt, String command) {
    @Override
    public String toString() {
      return "pid " + pid + " on host " + host + " since " + startedAt + " (" + command + ")";
    }
  }

  /** Thrown when another process (or another refresh in this JVM) holds the lock. */
  public static final class LockedException extends IOException {
    private final transient Holder holder;

    LockedException(String message, Holder holder) {
      super(message);
      this.holder = holder;
    }

    /** The holder as recorded in the lock file, if it had written itself there yet. */
    public Optional<Holder> holder() {
      return Optional.ofNullable(holder);
    }
  }

  private StoreLock(Path root, FileChannel channel, FileLock lock, Holder holder, Holder staleHolder) {
    this.root = root;
    this.channel = channel;
    this.lock = lock;
    this.holder = holder;
    this.staleHolder = staleHolder;
  }

  /**
   * Takes the lock without waiting.
   *
   * @throws LockedException naming the holder when the lock is held
   */
  public static StoreLock acquire(Path root, String command, Clock clock) throws IOException {
    Path file = root.resolve(FILE_NAME);
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    try {
      Holder recorded = read(ch);
      if (lock == null) {
        throw held(file, recorded);
      }
      Holder me = new Holder(ProcessHandle.current().pid(), hostName(),
          Instant.now(clock).toString(), command);
      if (recorded != null && recorded.host().equals(me.host()) && recorded.pid() != me.pid()
          && ProcessHandle.of(recorded.pid()).map(ProcessHandle::isAlive).orElse(false)) {
        lock.release();
        throw new LockedException("the threshold store lock " + file + " records " + recorded
            + ", which is still running, although the file is not locked: the file system of " + root
            + " does not enforce file locks; stop that process or check it and delete " + file,
            recorded);
      }
      byte[] bytes = MAPPER.writeValueAsBytes(me);
      ch.truncate(0);
      ch.write(ByteBuffer.wrap(bytes), 0);
      ch.force(true);
      return new StoreLock(root, ch, lock, me, recorded);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Checks, without taking it and without touching the holder entry, that nobody holds the lock of the
   * store at {@code root}: lets a job refuse to start before it does any work. Taking the lock later can
   * still fail when another process takes it meanwhile.
   *
   * @throws LockedException naming the holder when the lock is held
   */
  public static void requireFree(Path root) throws IOException {
    Path file = root.resolve(FILE_NAME);
    if (!java.nio.file.Files.exists(file)) {
      return;
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        throw held(file, read(ch));
      }
      lock.release();
    }
  }

  private static LockedException held(Path file, Holder recorded) {
    return new LockedException("another " + (recorded == null ? "process" : recorded.command())
        + " holds the threshold store lock " + file + ": "
        + (recorded == null ? "it has not recorded itself yet" : recorded.toString())
        + "; wait for it to finish", recorded);
  }

  /** Whether this is a still-held lock of the store at {@code storeRoot}. */
  public boolean isHeldOn(Path storeRoot) {
    return lock.isValid() && root.equals(storeRoot);
  }

  /** This process's entry in the lock file. */
  public Holder holder() {
    return holder;
  }

  /**
   * The holder recorded in the lock file when this lock was taken, present when that holder died
   * without releasing (a crashed or killed run); its staging leftovers are cleaned by the store.
   */
  public Optional<Holder> staleHolder() {
    return Optional.ofNullable(staleHolder);
  }

  private static Holder read(FileChannel ch) throws IOException {
    long size = ch.size();
    if (size == 0 || size > 4096) {
      return null;
    }
    ByteBuffer buf = ByteBuffer.allocate((int) size);
    ch.read(buf, 0);
    String text = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
    try {
      return MAPPER.readValue(text, Holder.class);
    } catch (IOException e) {
      return new Holder(-1, "unknown", "unknown", "unreadable lock entry '" + text.strip() + "'");
    }
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      String env = System.getenv("HOSTNAME");
      return env == null || env.isBlank() ? "unknown-host" : env;
    }
  }

  /** Clears the holder entry and releases the lock. */
  @Override
  public void close() throws IOException {
    try {
      if (lock.isValid()) {
        channel.truncate(0);
        channel.force(true);
        lock.release();
      }
    } finally {
      channel.close();
    }
  }
}
