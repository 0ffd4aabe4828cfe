package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import io.lookalike.testkit.KafkaBroker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CatalogFileLoaderIT {

  private static KafkaBroker broker;
  private static KafkaProducer<String, ProductEvent> producer;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    broker = KafkaBroker.start();
    broker.createTopics(1, "jsonl-events", "csv-events");
    producer =
        new KafkaProducer<>(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
            new StringSerializer(),
            Serdes.productEvent().serializer());
  }

  @AfterAll
  static void stop() {
    if (producer != null) {
      producer.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void shouldPublishJsonLinesAndSkipInvalidLines() throws Exception {
    Path file =
        Files.writeString(
            dir.resolve("catalog.jsonl"),
            String.join(
                "\n",
                "# a comment",
                "{\"productId\":\"p1\",\"version\":7,\"title\":\"Red dress\",\"brand\":\"Acme\",\"category\":\"dress\","
                    + "\"price\":49.9,\"currency\":\"eur\",\"availability\":\"in stock\",\"attributes\":{\"colour\":\"red\"},"
                    + "\"occurredAt\":\"2026-01-02T03:04:05Z\","
                    + "\"images\":[{\"imageId\":\"front\",\"url\":\"img/p1.jpg\"},{\"imageId\":\"back\",\"url\":\"https://cdn.example.com/p1b.jpg\",\"position\":1}]}",
                "not json at all",
                "{\"title\":\"no id\"}",
                "",
                "{\"productId\":\"p2\",\"imageUrl\":\"https://cdn.example.com/p2.jpg\"}",
                "{\"productId\":\"p3\",\"price\":10}",
                "{\"productId\":\"p2\",\"type\":\"delete\"}"));

    CatalogFileLoader.Result result = CatalogFileLoader.load(file, producer, "jsonl-events", false);

    assertThat(result.published()).isEqualTo(3);
    assertThat(result.invalid()).isEqualTo(3);
    assertThat(result.token()).startsWith("ct1.");
    List<ProductEvent> events = read("jsonl-events", 3);
    ProductEvent p1 = events.get(0);
    assertThat(p1.getVersion()).isEqualTo(7);
    assertThat(p1.getEventId()).isEqualTo("p1:7");
    assertThat(p1.getOccurredAt().toString()).isEqualTo("2026-01-02T03:04:05Z");
    assertThat(p1.getProduct().getPrice().getCurrency()).isEqualTo("EUR");
    assertThat(p1.getProduct().getAvailability()).isEqualTo("IN_STOCK");
    assertThat(p1.getProduct().getAttributes()).containsEntry("colour", "red");
    assertThat(p1.getImages().get(0).getUrl())
        .isEqualTo(dir.resolve("img/p1.jpg").toUri().toString())
        .startsWith("file:");
    assertThat(p1.getImages().get(1).getPosition()).isEqualTo(1);
    ProductEvent p2 = events.get(1);
    assertThat(p2.getImages())
        .singleElement()
        .satisfies(i -> assertThat(i.getImageId()).isEqualTo("0"));
    ProductEvent delete = events.get(2);
    assertThat(delete.getType()).isEqualTo(EventType.DELETE);
    assertThat(delete.getVersion())
        .isGreaterThan(p2.getVersion()); // same load, same product: still ordered
  }

  @Test
  void shouldPublishCsvRowsWithPipeSeparatedImages() throws Exception {
    Path file =
        Files.writeString(
            dir.resolve("catalog.csv"),
            String.join(
                "\n",
                "productId,type,version,title,brand,category,price,currency,availability,image_urls,material",
                "p1,,3,Blue shirt,Acme,shirt,19.99,USD,OUT_OF_STOCK,a.jpg|https://cdn.example.com/b.jpg,cotton",
                "p2,DELETE,4,,,,,,,,",
                "p3,UPSERT,x,Bad version,,,,,,,",
                ""));

    CatalogFileLoader.Result result = CatalogFileLoader.load(file, producer, "csv-events", true);

    assertThat(result.published()).isEqualTo(2);
    assertThat(result.invalid()).isEqualTo(1);
    assertThat(result.token()).startsWith("ct1.");
    List<ProductEvent> events = read("csv-events", 2);
    ProductEvent p1 = events.get(0);
    assertThat(p1.getProduct().getTitle()).isEqualTo("Blue shirt");
    assertThat(p1.getProduct().getPrice().getAmount()).isEqualTo(19.99);
    assertThat(p1.getProduct().getAttributes())
        .containsExactlyEntriesOf(Map.of("material", "cotton"));
    assertThat(p1.getImages())
        .extracting(i -> i.getImageId() + "@" + i.getPosition())
        .containsExactly("0@0", "1@1");
    assertThat(p1.getImages().get(0).getUrl()).isEqualTo(dir.resolve("a.jpg").toUri().toString());
    assertThat(events.get(1).getType()).isEqualTo(EventType.DELETE);
    assertThat(events.get(1).getVersion()).isEqualTo(4);
  }

  private static List<ProductEvent> read(String topic, int count) {
    List<ProductEvent> events = new ArrayList<>();
    try (KafkaConsumer<String, ProductEvent> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG,
                "check-" + topic,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest"),
            new StringDeserializer(),
            Serdes.productEvent().deserializer())) {
      consumer.subscribe(List.of(topic));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                consumer
                    .poll(Duration.ofMillis(200))
                    .forEach(
                        r -> {
                          assertThat(r.key()).isEqualTo(r.value().getProductId());
                          events.add(r.value());
                        });
                return events.size() >= count;
              });
    }
    return events;
  }
}
