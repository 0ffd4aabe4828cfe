package io.lookalike.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirLockTest {

  @TempDir Path dir;

  @Test
  void shouldWriteTheOwnersPidIntoTheLockFile() throws Exception {
    try (DataDirLock lock = DataDirLock.acquire(dir)) {
      assertThat(lock.file()).isEqualTo(dir.toAbsolutePath().resolve(".lock"));
      assertThat(Files.readString(lock.file()).strip())
          .isEqualTo(Long.toString(ProcessHandle.current().pid()));
    }
  }

  @Test
  void shouldRefuseASecondOwnerInThisJvmNamingDirectoryAndPid() throws Exception {
    try (DataDirLock first = DataDirLock.acquire(dir)) {
      assertThatThrownBy(() -> DataDirLock.acquire(dir))
          .isInstanceOfSatisfying(
              DataDirLock.HeldException.class,
              e -> {
                assertThat(e.dir()).isEqualTo(dir.toAbsolutePath());
                assertThat(e.pid()).isEqualTo(Long.toString(ProcessHandle.current().pid()));
              })
          .hasMessageContaining(dir.toAbsolutePath().toString())
          .hasMessageContaining("process " + ProcessHandle.current().pid())
          .hasMessageNotContaining("\n");
      // and the refusal did not drop the first owner's lock (POSIX drops it when any descriptor
      // closes)
      assertThat(runProbe()).isEqualTo(DataDirLock.HeldException.EXIT_CODE);
    }
  }

  @Test
  void shouldBeFreeAgainOnceReleased() {
    DataDirLock.acquire(dir).close();
    try (DataDirLock again = DataDirLock.acquire(dir)) {
      assertThat(again.dir()).isEqualTo(dir.toAbsolutePath());
    }
  }

  @Test
  void shouldRefuseAnotherProcessAndKeepTheOwnersPid() throws Exception {
    try (DataDirLock first = DataDirLock.acquire(dir)) {
      Process child =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  System.getProperty("java.class.path"),
                  Probe.class.getName(),
                  dir.toString())
              .redirectErrorStream(true)
              .start();
      assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
      String output =
          new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();

      assertThat(child.exitValue()).isEqualTo(DataDirLock.HeldException.EXIT_CODE);
      assertThat(output)
          .isEqualTo(
              "Data directory "
                  + dir.toAbsolutePath()
                  + " is in use by process "
                  + ProcessHandle.current().pid()
                  + ": stop that process first, or give this one another directory");
      assertThat(Files.readString(first.file()).strip())
          .isEqualTo(Long.toString(ProcessHandle.current().pid()));
    }
  }

  @Test
  void shouldBeTakenOverOnceItsOwnerProcessIsKilled() throws Exception {
    Process owner =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Probe.class.getName(),
                dir.toString(),
                "hold")
            .redirectErrorStream(true)
            .start();
    try {
      // The child says so once it holds the lock.
      assertThat(new String(owner.getInputStream().readNBytes(5), StandardCharsets.UTF_8))
          .isEqualTo("held\n");
      assertThatThrownBy(() -> DataDirLock.acquire(dir))
          .isInstanceOf(DataDirLock.HeldException.class)
          .hasMessageContaining("process " + owner.pid());
    } finally {
      owner.destroyForcibly().waitFor(60, TimeUnit.SECONDS);
    }
    try (DataDirLock lock = DataDirLock.acquire(dir)) {
      assertThat(Files.readString(lock.file()).strip())
          .isEqualTo(Long.toString(ProcessHandle.current().pid()));
    }
  }

  private int runProbe() throws Exception {
    Process child =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Probe.class.getName(),
                dir.toString())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return child.exitValue();
  }

  /** A second process: locks the directory given, and holds it until killed when told to "hold". */
  public static final class Probe {
    public static void main(String[] args) throws Exception {
      try (DataDirLock lock = DataDirLock.acquire(Path.of(args[0]))) {
        if (args.length > 1) {
          System.out.print("held\n");
          System.out.flush();
          Thread.sleep(Long.MAX_VALUE);
        }
      } catch (DataDirLock.HeldException e) {
        System.out.println(e.getMessage());
        System.exit(DataDirLock.HeldException.EXIT_CODE);
      }
    }
  }
}
