package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.SchemaFingerprints;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records that Debian's python3-avro 1.11 writes in single-object encoding (through the documented
 * script) are read.
 */
class PythonAvroIT {

  @TempDir static Path dir;

  @BeforeAll
  static void needsPythonAvro() {
    PythonProducer.assumeModules("avro");
  }

  @Test
  void shouldReadSingleObjectRecordWrittenByPythonAvro() throws Exception {
    String line =
        "{\"eventId\":\"e7\",\"type\":\"UPSERT\",\"productId\":\"p1\",\"version\":7,\"occurredAt\":1700000000001,"
            + "\"product\":{\"title\":\"Red dress\",\"price\":{\"amount\":49.9,\"currency\":\"EUR\"},"
            + "\"attributes\":{\"colour\":\"red\"}},"
            + "\"images\":[{\"imageId\":\"front\",\"url\":\"https://127.0.0.1/p1.jpg\",\"position\":0}]}";

    byte[] value = dump(line);

    // Python's fingerprint is its own variant: the header names it, and it is not Java's
    long fingerprint = ByteBuffer.wrap(value, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertThat(fingerprint)
        .isEqualTo(SchemaFingerprints.python(ProductEvent.getClassSchema()))
        .isNotEqualTo(SchemaFingerprints.java(ProductEvent.getClassSchema()));
    ProductEvent event = new ProductEventDecoder().decode(value, 0);
    assertThat(event.getType()).isEqualTo(EventType.UPSERT);
    assertThat(event.getVersion()).isEqualTo(7);
    assertThat(event.getOccurredAt()).isEqualTo(Instant.ofEpochMilli(1700000000001L));
    assertThat(event.getProduct().getTitle()).isEqualTo("Red dress");
    assertThat(event.getProduct().getPrice().getCurrency()).isEqualTo("EUR");
    assertThat(event.getProduct().getAttributes()).containsEntry("colour", "red");
    assertThat(event.getImages().get(0).getUrl()).isEqualTo("https://127.0.0.1/p1.jpg");
  }

  private static byte[] dump(String line) throws Exception {
    Path file = Files.writeString(dir.resolve("event.jsonl"), line);
    Process p =
        new ProcessBuilder(
                PythonProducer.PYTHON.toString(),
                PythonProducer.script().toString(),
                "--dump",
                "--encoding",
                "avro",
                "--schemas",
                PythonProducer.repoDir().resolve("schemas/src/main/avro").toString(),
                file.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    List<String> lines = out.lines().toList();
    return HexFormat.of().parseHex(lines.get(lines.size() - 1).strip());
  }
}
