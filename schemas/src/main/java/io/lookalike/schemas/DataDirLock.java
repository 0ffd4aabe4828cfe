package io.lookalike.schemas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Exclusive ownership of a data directory, taken before anything in it is touched: an OS file lock
 * ({@link FileChannel#tryLock()}) on a lock file in the directory, which holds the owner's PID. A
 * second owner, in another process or this one, fails at once with {@link HeldException} naming the
 * directory and that PID. The OS drops the lock when the owner dies, even after {@code kill -9}, so
 * a stale lock file never blocks a restart.
 *
 * <pre>
 * try (DataDirLock lock = DataDirLock.acquire(dataDir)) {
 *   ... open the broker, the index, the state ...
 * }
 * </pre>
 */
public final class DataDirLock implements AutoCloseable {

  /** The lock file's name in a directory we own as a whole. */
  public static final String FILE_NAME = ".lock";

  /**
   * The suffix of a Kafka Streams app's lock file, {@code <state.dir>/<application.id>.lock}:
   * beside the app's state directory, since Kafka Streams manages that directory and locks a {@code
   * .lock} of its own in it.
   */
  public static final String STREAMS_SUFFIX = ".lock";

  /**
   * Lock files this JVM holds. A second channel on a held file must never be opened: on POSIX
   * systems, closing any channel of a file releases every lock this process holds on it.
   */
  private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

  private final Path dir;
  private final Path file;
  private final FileChannel channel;
  private final FileLock lock;
  private final AtomicBoolean closed = new AtomicBoolean();

  private DataDirLock(Path dir, Path file, FileChannel channel, FileLock lock) {
    this.dir = dir;
    this.file = file;
    this.channel = channel;
    this.lock = lock;
  }

  /** Locks {@code dir} through {@code dir/.lock}, creating the directory if needed. */
  public static DataDirLock acquire(Path dir) {
    return acquire(dir, FILE_NAME);
  }

  /**
   * Locks {@code dir} through the lock file {@code fileName} in it, creating the directory if
   * needed.
   *
   * @throws HeldException when another owner holds it
   * @throws UncheckedIOException when the directory or the lock file cannot be created
   */
  public static DataDirLock acquire(Path dir, String fileName) {
    Path absolute = dir.toAbsolutePath().normalize();
    Path file = absolute.resolve(fileName);
    if (!HELD.add(file)) {
      throw new HeldException(absolute, Long.toString(ProcessHandle.current().pid()));
    }
    FileChannel channel = null;
    try {
      Files.createDirectories(absolute);
      // No TRUNCATE: the file of a running owner holds its PID, which a refused second owner
      // reports.
      channel =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock = channel.tryLock();
      if (lock == null) {
        String holder = readPid(channel);
        channel.close();
        HELD.remove(file);
        throw new HeldException(absolute, holder);
      }
      String pid = Long.toString(ProcessHandle.current().pid());
      channel.truncate(0);
      channel.write(ByteBuffer.wrap((pid + "\n").getBytes(StandardCharsets.UTF_8)), 0);
      channel.force(false);
      return new DataDirLock(absolute, file, channel, lock);
    } catch (IOException | RuntimeException e) {
      closeQuietly(channel);
      HELD.remove(file);
      if (e instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new UncheckedIOException(
          "Cannot lock the data directory " + absolute + ": " + e.getMessage(), (IOException) e);
    }
  }

  private static String readPid(FileChannel channel) {
    try {
      ByteBuffer buffer = ByteBuffer.allocate(64);
      int n = channel.read(buffer, 0);
      String text = n <= 0 ? "" : new String(buffer.array(), 0, n, StandardCharsets.UTF_8).strip();
      return text.matches("\\d+") ? text : "unknown";
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // already failing
      }
    }
  }

  /** The locked directory, absolute. */
  public Path dir() {
    return dir;
  }

  /** The lock file. */
  public Path file() {
    return file;
  }

  /**
   * Releases the lock (once); the file stays (deleting it could let a third owner lock a different
   * inode).
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      if (lock.isValid()) {
        lock.release();
      }
    } catch (IOException ignored) {
      // closing the channel releases it too
    } finally {
      closeQuietly(channel);
      HELD.remove(file);
    }
  }

  @Override
  public String toString() {
    return "DataDirLock[" + file + "]";
  }

  /** Another owner holds the directory. Its message is one line, fit for a terminal. */
  public static final class HeldException extends IllegalStateException {
    /**
     * The exit status a command ends with when its data directory is in use (sysexits'
     * EX_TEMPFAIL).
     */
    public static final int EXIT_CODE = 75;

    private final Path dir;
    private final String pid;

    HeldException(Path dir, String pid) {
      super(
          "Data directory "
              + dir
              + " is in use by process "
              + pid
              + ": stop that process first, or give this one another directory");
      this.dir = dir;
      this.pid = pid;
    }

    public Path dir() {
      return dir;
    }

    /** The holder's PID as its lock file says, or {@code unknown}. */
    public String pid() {
      return pid;
    }
  }
}
