package io.lookalike.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A small file system for disk-full tests: a tmpfs of a given size mounted on a directory (needs
 * root and a kernel that lets this process mount; {@link #mount} is empty where it cannot, so tests
 * skip themselves).
 */
public final class SmallDisk implements AutoCloseable {

  private final Path dir;

  private SmallDisk(Path dir) {
    this.dir = dir;
  }

  /**
   * Mounts a tmpfs of {@code mebibytes} on {@code dir} (created if needed); empty when not
   * permitted here.
   */
  public static Optional<SmallDisk> mount(Path dir, int mebibytes) {
    try {
      Files.createDirectories(dir);
      Process mount =
          new ProcessBuilder(
                  "mount", "-t", "tmpfs", "-o", "size=" + mebibytes + "m", "tmpfs", dir.toString())
              .redirectErrorStream(true)
              .start();
      mount.getInputStream().readAllBytes();
      if (!mount.waitFor(30, TimeUnit.SECONDS) || mount.exitValue() != 0) {
        return Optional.empty();
      }
      return Optional.of(new SmallDisk(dir));
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  public Path dir() {
    return dir;
  }

  /** Fills the disk with one file until about {@code leaveMebibytes} are left; returns the file. */
  public Path fill(int leaveMebibytes) throws IOException {
    Path filler = dir.resolve("filler.bin");
    long usable = Files.getFileStore(dir).getUsableSpace();
    long size = Math.max(0, usable - (long) leaveMebibytes * 1024 * 1024);
    byte[] block = new byte[1024 * 1024];
    try (var out = Files.newOutputStream(filler)) {
      for (long written = 0; written < size; written += block.length) {
        out.write(block, 0, (int) Math.min(block.length, size - written));
      }
    }
    return filler;
  }

  @Override
  public void close() throws IOException, InterruptedException {
    Process umount = new ProcessBuilder("umount", dir.toString()).redirectErrorStream(true).start();
    umount.getInputStream().readAllBytes();
    umount.waitFor(30, TimeUnit.SECONDS);
  }
}
