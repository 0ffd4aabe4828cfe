package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.image.ImageNormaliser;
import io.lookalike.ingest.webhook.WebhookConfig;
import io.lookalike.ingest.webhook.WebhookReceiver;
import io.lookalike.ingest.webhook.WebhookServer;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One product's events from a Python (librdkafka, CRC32 partitioner) producer and from the Java
 * loader and webhook (murmur2) land on different partitions of {@code product-events}; deletes,
 * dropped images and stale versions must still behave as with one producer. A real broker with 2
 * partitions, the real script.
 */
class MixedProducersIT {

  private static final Topics TOPICS = Topics.defaults();
  private static final int PARTITIONS = 2;
  private static final List<SampleImages.Photo> PHOTOS = SampleImages.photos("validation", 4);

  private static KafkaBroker broker;

  @TempDir static Path dir;

  @BeforeAll
  static void start() {
    PythonProducer.assumeModules("confluent_kafka", "avro");
    broker = KafkaBroker.start();
    broker.createTopics(PARTITIONS, TOPICS.productEvents(), TOPICS.deadLetters());
    broker.createCompactedTopics(PARTITIONS, TOPICS.productImages());
  }

  @AfterAll
  static void stop() {
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void shouldProcessOneProductsEventsInOrderWhateverClientPublishedThem() throws Exception {
    // Given products whose key librdkafka (CRC32) and Java (murmur2) put on different partitions
    List<String> ids = productsPartitionedApart(4);
    String a = ids.get(0);
    String b = ids.get(1);
    String c = ids.get(2);
    String d = ids.get(3);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Map<String, Object> config = new HashMap<>();
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    config.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
    config.put(FetcherConfig.FETCH_ALLOW_FILE_CONFIG, true);
    WebhookConfig webhookConfig =
        new WebhookConfig(
            Map.of(
                WebhookConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers(),
                WebhookConfig.AUTH_CONFIG,
                "none",
                WebhookConfig.HOST_CONFIG,
                "127.0.0.1",
                WebhookConfig.PORT_CONFIG,
                "0",
                WebhookConfig.ALLOW_FILE_URLS_CONFIG,
                "true"));

    try (FetcherApp app = new FetcherApp(config, registry);
        WebhookServer webhook =
            new WebhookServer(webhookConfig, new WebhookReceiver(webhookConfig, registry));
        KafkaProducer<String, ProductEvent> javaProducer =
            new KafkaProducer<>(
                Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                new StringSerializer(),
                Serdes.productEvent().serializer());
        KafkaConsumer<String, byte[]> images = consumer(TOPICS.productImages())) {
      app.start();
      String webhookUrl = "http://127.0.0.1:" + webhook.start() + WebhookServer.PATH;

      // When the Java loader publishes a with two photos and c at version 5, Python publishes b
      // (JSON) and d (Avro)
      Path catalog =
          Files.writeString(
              dir.resolve("catalog.jsonl"),
              String.join(
                  "\n",
                  "{\"productId\":\""
                      + a
                      + "\",\"version\":1,\"images\":[{\"imageId\":\"front\",\"url\":\""
                      + url(0)
                      + "\"},"
                      + "{\"imageId\":\"back\",\"url\":\""
                      + url(1)
                      + "\"}]}",
                  "{\"productId\":\""
                      + c
                      + "\",\"version\":5,\"images\":[{\"imageId\":\"front\",\"url\":\""
                      + url(0)
                      + "\"}]}"));
      assertThat(
              CatalogFileLoader.load(catalog, javaProducer, TOPICS.productEvents(), false)
                  .published())
          .isEqualTo(2);
      PythonProducer.publish(
          broker.bootstrapServers(),
          TOPICS.productEvents(),
          "json",
          dir,
          List.of(event(b, 1, "front", 2)));
      PythonProducer.publish(
          broker.bootstrapServers(),
          TOPICS.productEvents(),
          "avro",
          dir,
          List.of(event(d, 1, "front", 3)));
      Map<String, ProductImage> latest = new HashMap<>();
      Set<String> seen = new HashSet<>();
      awaitImages(
          images,
          latest,
          seen,
          Set.of(a + "/front", a + "/back", b + "/front", c + "/front", d + "/front"));

      // And then Python drops a's back photo and sends an older c, and the webhook deletes b
      PythonProducer.publish(
          broker.bootstrapServers(),
          TOPICS.productEvents(),
          "json",
          dir,
          List.of(event(a, 2, "front", 0), event(c, 3, "front", 3)));
      HttpResponse<String> deleted =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(webhookUrl))
                      .header("Content-Type", "application/json")
                      .POST(
                          HttpRequest.BodyPublishers.ofString(
                              "{\"eventId\":\"del-b\",\"type\":\"DELETE\",\"productId\":\""
                                  + b
                                  + "\",\"version\":2}"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(deleted.statusCode()).isEqualTo(202);

      // Then the dropped photo and the deleted product are tombstoned and the older c is dropped as
      // stale
      await()
          .atMost(Duration.ofSeconds(90))
          .untilAsserted(
              () -> {
                images
                    .poll(Duration.ofMillis(200))
                    .forEach(
                        r -> latest.put(r.key(), Serdes.productImage().deserialize(r.value())));
                assertThat(latest.get(a + "/back")).isNull();
                assertThat(latest.get(b + "/front")).isNull();
                assertThat(latest).containsKeys(a + "/back", b + "/front");
                assertThat(registry.counter("lookalike.fetcher.events.stale").count()).isEqualTo(1);
              });
      assertThat(latest.get(a + "/front")).isNotNull();
      assertThat(latest.get(c + "/front").getVersion()).isEqualTo(5);
      assertThat(latest.get(c + "/front").getSha256())
          .isEqualTo(ImageNormaliser.sha256(PHOTOS.get(0).bytes()));
      assertThat(latest.get(d + "/front").getSha256())
          .isEqualTo(ImageNormaliser.sha256(PHOTOS.get(3).bytes()));
      assertThat(registry.counter("lookalike.fetcher.rejected", "reason", "invalid_event").count())
          .isZero();

      // And the two clients really did put each product on different partitions of product-events
      Map<String, Set<String>> partitionsBySource = new HashMap<>();
      for (ConsumerRecord<String, byte[]> r : readAll(TOPICS.productEvents())) {
        String source = r.value()[0] == '{' ? "python" : "java"; // Python sent a, b and c as JSON
        partitionsBySource
            .computeIfAbsent(r.key() + " " + source, k -> new HashSet<>())
            .add(Integer.toString(r.partition()));
      }
      for (String product : List.of(a, b, c)) {
        assertThat(partitionsBySource.get(product + " python"))
            .doesNotContainAnyElementsOf(partitionsBySource.get(product + " java"));
      }
    }
  }

  /** Product ids for which librdkafka's default (CRC32) and Java's (murmur2) partitions differ. */
  private static List<String> productsPartitionedApart(int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; ids.size() < count; i++) {
      String id = "mixed-" + i;
      byte[] key = id.getBytes(StandardCharsets.UTF_8);
      CRC32 crc = new CRC32();
      crc.update(key);
      if (crc.getValue() % PARTITIONS != BuiltInPartitioner.partitionForKey(key, PARTITIONS)) {
        ids.add(id);
      }
    }
    return ids;
  }

  private static String event(String productId, int version, String imageId, int photo) {
    return "{\"eventId\":\""
        + productId
        + ":"
        + version
        + "\",\"type\":\"UPSERT\",\"productId\":\""
        + productId
        + "\",\"version\":"
        + version
        + ",\"occurredAt\":"
        + (1_700_000_000_000L + version)
        + ",\"product\":{\"title\":\"Dress "
        + productId
        + "\"},"
        + "\"images\":[{\"imageId\":\""
        + imageId
        + "\",\"url\":\""
        + url(photo)
        + "\",\"position\":0}]}";
  }

  private static String url(int photo) {
    return PHOTOS.get(photo).path().toUri().toString();
  }

  private static void awaitImages(
      KafkaConsumer<String, byte[]> images,
      Map<String, ProductImage> latest,
      Set<String> seen,
      Set<String> expected) {
    await()
        .atMost(Duration.ofSeconds(90))
        .untilAsserted(
            () -> {
              images
                  .poll(Duration.ofMillis(200))
                  .forEach(
                      r -> {
                        latest.put(r.key(), Serdes.productImage().deserialize(r.value()));
                        seen.add(r.key());
                      });
              assertThat(seen).containsAll(expected);
            });
  }

  private static KafkaConsumer<String, byte[]> consumer(String topic) {
    KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG,
                "check-" + topic,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed"),
            new StringDeserializer(),
            new ByteArrayDeserializer());
    consumer.subscribe(List.of(topic));
    return consumer;
  }

  private static List<ConsumerRecord<String, byte[]>> readAll(String topic) {
    List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer = consumer(topic)) {
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
                assertThat(out).hasSizeGreaterThanOrEqualTo(7);
              });
    }
    return out;
  }
}
