package io.lookalike.ingest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs docs/examples/python/produce_events.py, the Python (librdkafka) producer that
 * docs/producing.md shows, with Debian's /usr/bin/python3; tests skip when python3-confluent-kafka
 * (or python3-avro) is missing.
 */
final class PythonProducer {

  static final Path PYTHON = Path.of("/usr/bin/python3");

  private PythonProducer() {}

  static Path repoDir() {
    return Path.of(System.getProperty("lookalike.repo.dir", "..")).toAbsolutePath().normalize();
  }

  static Path script() {
    return repoDir().resolve("docs/examples/python/produce_events.py");
  }

  /** Skips the calling test unless /usr/bin/python3 can import every module named. */
  static void assumeModules(String... modules) {
    Assumptions.assumeTrue(Files.isExecutable(PYTHON), "/usr/bin/python3 is not installed");
    for (String module : modules) {
      int exit;
      try {
        Process p =
            new ProcessBuilder(PYTHON.toString(), "-c", "import " + module)
                .redirectErrorStream(true)
                .start();
        p.getInputStream().readAllBytes();
        exit = p.waitFor(60, TimeUnit.SECONDS) ? p.exitValue() : -1;
      } catch (IOException e) {
        exit = -1;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        exit = -1;
      }
      Assumptions.assumeTrue(
          exit == 0,
          "/usr/bin/python3 lacks module "
              + module
              + " (apt-get install -y --no-install-recommends python3-confluent-kafka python3-avro)");
    }
  }

  /**
   * Publishes the JSON lines given with the script; returns its output, failing on a non-zero exit.
   */
  static String publish(
      String bootstrapServers, String topic, String encoding, Path dir, List<String> events)
      throws IOException, InterruptedException {
    Path file = Files.createTempFile(dir, "python-events", ".jsonl");
    Files.write(file, events, StandardCharsets.UTF_8);
    Process p =
        new ProcessBuilder(
                PYTHON.toString(),
                script().toString(),
                "--bootstrap-servers",
                bootstrapServers,
                "--topic",
                topic,
                "--encoding",
                encoding,
                "--schemas",
                repoDir().resolve("schemas/src/main/avro").toString(),
                file.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("produce_events.py failed: " + out);
    }
    return out;
  }
}
