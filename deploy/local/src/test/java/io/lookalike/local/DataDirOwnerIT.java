package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.schemas.DataDirLock;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A second {@code lookalike local} on a data directory in use leaves at once and touches nothing in
 * it.
 */
class DataDirOwnerIT {

  @TempDir Path tmp;

  @Test
  void shouldRefuseASecondLocalModeOnTheSameDataDirWithoutTouchingTheFirstsFiles()
      throws Exception {
    Path data = tmp.resolve("data");
    long me = ProcessHandle.current().pid();
    String refusal =
        "Data directory "
            + data.toAbsolutePath()
            + " is in use by process "
            + me
            + ": stop that process first, or give this one another directory";
    int kafkaPort = freePort();
    int controllerPort = freePort();

    // Given a running local mode's data directory: locked first, as LocalMode.start does, then its
    // broker
    try (DataDirLock owner = DataDirLock.acquire(data)) {
      try (LocalKafka kafka =
          LocalKafka.start(data.resolve("kafka"), "127.0.0.1", kafkaPort, controllerPort)) {
        createTopic(kafka, "before");

        // When a second instance starts on it (same ports, as a user repeating the command would)
        Child second = runLocal(data, kafkaPort, controllerPort);

        // Then it exits at once with one line naming the directory and the owner's PID
        assertThat(second.exitCode).isEqualTo(DataDirLock.HeldException.EXIT_CODE);
        assertThat(second.stderr.strip()).isEqualTo(refusal);
        // and the first broker goes on serving
        createTopic(kafka, "after");
      }

      // And with the broker stopped (its files at rest) but the directory still owned, a second
      // instance
      // changes no byte of it: the metadata log, its quorum-state and checkpoints (the lock files
      // are not
      // read here: on POSIX, closing any descriptor of a locked file drops this process's lock on
      // it; the
      // refusal above shows their PID)
      Map<String, String> before = checksums(data);
      assertThat(before.keySet())
          .anyMatch(f -> f.contains("__cluster_metadata-0") && f.endsWith("quorum-state"))
          .anyMatch(f -> f.contains("__cluster_metadata-0") && f.endsWith(".log"));
      Child third = runLocal(data, kafkaPort, controllerPort);
      assertThat(third.exitCode).isEqualTo(DataDirLock.HeldException.EXIT_CODE);
      assertThat(third.stderr.strip()).isEqualTo(refusal);
      assertThat(checksums(data)).isEqualTo(before);
    }
  }

  private record Child(int exitCode, String stderr) {}

  /** {@code lookalike local} in a JVM of its own, with this test's classpath. */
  private Child runLocal(Path data, int kafkaPort, int controllerPort) throws Exception {
    Path err = Files.createTempFile(tmp, "child", ".err");
    Process child =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true",
                "-cp",
                System.getProperty("java.class.path"),
                Lookalike.class.getName(),
                "local",
                "--data-dir",
                data.toString(),
                "--kafka-port",
                Integer.toString(kafkaPort),
                "--controller-port",
                Integer.toString(controllerPort),
                "--port",
                "0",
                "--no-sample")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(err.toFile())
            .start();
    if (!child.waitFor(120, TimeUnit.SECONDS)) {
      child.destroyForcibly().waitFor();
      throw new AssertionError("the second instance did not exit: " + Files.readString(err));
    }
    return new Child(child.exitValue(), Files.readString(err));
  }

  private static void createTopic(LocalKafka kafka, String name) throws Exception {
    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(name, 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
      // created is not yet listed: the broker applies the new metadata record a moment later
      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () ->
                  assertThat(admin.listTopics().names().get(60, TimeUnit.SECONDS)).contains(name));
    }
  }

  private static Map<String, String> checksums(Path dir) throws IOException {
    Map<String, String> sums = new TreeMap<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file :
          (Iterable<Path>)
              files
                      .filter(Files::isRegularFile)
                      .filter(f -> !f.getFileName().toString().equals(DataDirLock.FILE_NAME))
                  ::iterator) {
        try {
          sums.put(
              dir.relativize(file).toString(),
              HexFormat.of()
                  .formatHex(
                      MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file))));
        } catch (java.security.NoSuchAlgorithmException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return sums;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
