package io.lookalike.schemas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Free space of a data directory's file system, against a floor. A broker or an index that runs out
 * of space fails in ways that do not say so (Kafka marks its log dir offline and halts; a
 * memory-mapped index on a full disk dies with "a fault occurred in a recent unsafe memory
 * access"), so it is checked before start and while running, with a message that names the
 * directory.
 */
public final class FreeSpace {

  private final Path dir;
  private final long minFreeBytes;

  /**
   * @param minFreeBytes below this many usable bytes the directory counts as full (0: never)
   */
  public FreeSpace(Path dir, long minFreeBytes) {
    this.dir = dir.toAbsolutePath().normalize();
    this.minFreeBytes = minFreeBytes;
  }

  /** Usable bytes on the directory's file system now. */
  public long usableBytes() {
    try {
      Path existing = dir;
      while (existing != null && !Files.exists(existing)) {
        existing = existing.getParent();
      }
      return Files.getFileStore(existing == null ? dir : existing).getUsableSpace();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot read the free space of " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Null while there is room; else why not, naming the directory. */
  public String problem() {
    long usable = usableBytes();
    if (usable >= minFreeBytes) {
      return null;
    }
    return "only "
        + mebibytes(usable)
        + " free in "
        + dir
        + " (below the "
        + mebibytes(minFreeBytes)
        + " needed): free some space";
  }

  /** Throws {@link IllegalStateException} with {@link #problem()} when there is not enough room. */
  public void requireRoom(String settingName) {
    String problem = problem();
    if (problem != null) {
      throw new IllegalStateException("Not starting: " + problem + ", or lower " + settingName);
    }
  }

  public Path dir() {
    return dir;
  }

  private static String mebibytes(long bytes) {
    return bytes / (1024 * 1024) + " MiB";
  }
}
