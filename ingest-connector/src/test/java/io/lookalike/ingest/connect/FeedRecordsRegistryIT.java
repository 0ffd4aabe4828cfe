package io.lookalike.ingest.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.testkit.ApicurioRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.errors.ConnectException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The catalog feed source connector's records in the Confluent wire format, against a real schema
 * registry (Apicurio): ProductEvent registered under the topic's subject when the task starts, so
 * its polls never ask the registry; a registry that cannot be asked fails the start, saying so.
 */
class FeedRecordsRegistryIT {

  private static ApicurioRegistry registry;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    registry =
        ApicurioRegistry.start(Path.of("target", "apicurio-registry-FeedRecordsRegistryIT.log"));
  }

  @AfterAll
  static void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  private CatalogFeedConfig config(String url) {
    Map<String, String> props = new HashMap<>();
    props.put(CatalogFeedConfig.DIR_CONFIG, dir.toString());
    props.put(CatalogFeedConfig.TOPIC_CONFIG, "feed.events");
    props.put("schema.registry.url", url);
    props.put("value.format", "confluent");
    return new CatalogFeedConfig(props);
  }

  @Test
  void shouldWriteTheConfluentFormatUnderTheTopicsSubjectRegisteredAtStart() throws Exception {
    FeedRecords records = new FeedRecords(config(registry.url()), new SimpleMeterRegistry());

    records.registerSchema();
    byte[] value =
        records.encode(
            ProductEvent.newBuilder()
                .setEventId("e1")
                .setType(EventType.UPSERT)
                .setProductId("p1")
                .setVersion(1)
                .setOccurredAt(Instant.ofEpochMilli(1000))
                .setImages(List.of())
                .build());

    SchemaRegistryClient client =
        new SchemaRegistryClient(registry.url(), "", null, Duration.ofSeconds(30));
    assertThat(ConfluentWireFormat.schemaId(value))
        .isEqualTo(client.register("feed.events-value", ProductEvent.getClassSchema()));
  }

  @Test
  void shouldFailTheTaskStartNamingTheRegistryWhenItCannotBeAsked() {
    // Nothing listens on port 1: a real connection refused
    FeedRecords records = new FeedRecords(config("http://127.0.0.1:1"), new SimpleMeterRegistry());

    assertThatThrownBy(records::registerSchema)
        .isInstanceOf(ConnectException.class)
        .hasMessageContaining("feed.events-value")
        .hasMessageContaining("127.0.0.1:1")
        .hasMessageContaining("restart the task");
  }
}
