package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.testkit.SmallDisk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local mode on a disk without room: refused before anything starts, with the directory named.
 */
class DiskSpaceTest {

  @TempDir Path tmp;

  @Test
  void shouldRefuseToStartOnANearlyFullDiskNamingTheDirectory() throws Exception {
    // Given a 64 MiB disk filled to 8 MiB free (below the 16 MiB asked for)
    Optional<SmallDisk> mounted = SmallDisk.mount(tmp.resolve("disk"), 64);
    Assumptions.assumeTrue(mounted.isPresent(), "cannot mount a tmpfs here (needs root)");
    try (SmallDisk disk = mounted.get()) {
      Path filler = disk.fill(8);
      Path data = disk.dir().resolve("data");
      LocalMode local =
          new LocalMode(
              new LocalMode.Options(
                  data,
                  "127.0.0.1",
                  1,
                  1,
                  0,
                  "127.0.0.1",
                  null,
                  1,
                  false,
                  Map.of(LocalMode.MIN_FREE_BYTES_CONFIG, Long.toString(16L * 1024 * 1024))));

      // When it starts, then it refuses at once, naming the directory and the setting
      assertThatThrownBy(local::start)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("free in " + data.toAbsolutePath())
          .hasMessageContaining(LocalMode.MIN_FREE_BYTES_CONFIG);
      local.close();
      // and nothing but its lock file was written
      try (Stream<Path> files = Files.list(data)) {
        assertThat(files.map(p -> p.getFileName().toString())).containsExactly(".lock");
      }

      // And once space is freed it would start: the same check passes
      Files.delete(filler);
      assertThat(new io.lookalike.schemas.FreeSpace(data, 16L * 1024 * 1024).problem()).isNull();
    }
  }
}
