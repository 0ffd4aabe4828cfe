package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code lookalike load} as a user meets it: paths relative to where they ran it, a broker that is
 * not there.
 */
class LoadCommandTest {

  @TempDir Path dir;

  private final PrintStream originalErr = System.err;
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @AfterEach
  void restore() {
    System.setErr(originalErr);
    System.clearProperty("lookalike.cwd");
  }

  private int load(String... args) {
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    return new CommandLine(new Lookalike.Load()).execute(args);
  }

  @Test
  void shouldFailWithOneLineWhenTheBrokerIsUnreachable() throws Exception {
    Files.writeString(dir.resolve("catalog.jsonl"), "{\"productId\":\"p1\"}\n");
    System.setProperty("lookalike.cwd", dir.toString());

    int exit = load("--bootstrap-servers", "127.0.0.1:1", "catalog.jsonl");

    assertThat(exit).isEqualTo(1);
    String message = err.toString(StandardCharsets.UTF_8).strip();
    assertThat(message)
        .startsWith("Cannot reach Kafka at 127.0.0.1:1")
        .contains("--bootstrap-servers");
    assertThat(message.lines()).hasSize(1);
  }

  @Test
  void shouldRefuseTheConfluentFormatWithoutARegistryBeforeAskingKafka() throws Exception {
    Files.writeString(dir.resolve("catalog.jsonl"), "{\"productId\":\"p1\"}\n");
    System.setProperty("lookalike.cwd", dir.toString());

    int exit =
        load("--bootstrap-servers", "127.0.0.1:1", "-Dvalue.format=confluent", "catalog.jsonl");

    assertThat(exit).isEqualTo(1);
    String message = err.toString(StandardCharsets.UTF_8).strip();
    assertThat(message).contains("value.format").contains("schema.registry.url");
    assertThat(message.lines()).hasSize(1);
  }

  @Test
  void shouldResolveTheCatalogAgainstTheCallersDirectory() throws Exception {
    Files.createDirectories(dir.resolve("shop"));
    Files.writeString(dir.resolve("shop/catalog.jsonl"), "{\"productId\":\"p1\"}\n");
    System.setProperty("lookalike.cwd", dir.resolve("shop").toString());

    assertThat(Lookalike.Load.callerDirectory().resolve("catalog.jsonl")).exists();
    int exit = load("--bootstrap-servers", "127.0.0.1:1", "missing.jsonl");

    assertThat(exit).isEqualTo(1);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("Cannot read the catalog file " + dir.resolve("shop/missing.jsonl"));
  }

  @Test
  void shouldCreateTheWebhookSecretReadableByItsOwnerOnly() throws Exception {
    Path secret = dir.resolve("webhook.secret");

    String created = io.lookalike.gateway.SecretFile.readOrCreate(secret);

    assertThat(Files.readString(secret).strip()).isEqualTo(created).isNotBlank();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)))
        .isEqualTo("rw-------");
  }
}
