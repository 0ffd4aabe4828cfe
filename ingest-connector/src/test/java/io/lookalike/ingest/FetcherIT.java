package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fetcher end to end: a real broker, a catalog file, photos from file: and from a loopback HTTP
 * server.
 */
class FetcherIT {

  private static final Topics TOPICS = Topics.defaults();
  private static final List<SampleImages.Photo> PHOTOS = SampleImages.photos("validation", 4);

  private static KafkaBroker broker;
  private static HttpServer server;
  private static final AtomicInteger flakyCalls = new AtomicInteger();

  @TempDir static Path dir;

  @BeforeAll
  static void start() throws Exception {
    broker = KafkaBroker.start();
    broker.createTopics(2, TOPICS.productEvents(), TOPICS.deadLetters());
    broker.createCompactedTopics(2, TOPICS.productImages());
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/photos/",
        exchange -> {
          String name = exchange.getRequestURI().getPath().substring("/photos/".length());
          int status = 200;
          byte[] body;
          if (name.equals("missing.jpg")) {
            status = 404;
            body = "not here".getBytes();
          } else if (name.equals("flaky.jpg") && flakyCalls.incrementAndGet() == 1) {
            status = 500;
            body = "try again".getBytes();
          } else {
            body =
                PHOTOS
                    .get(name.equals("flaky.jpg") ? 3 : Integer.parseInt(name.replace(".jpg", "")))
                    .bytes();
          }
          exchange.sendResponseHeaders(status, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.start();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.stop(0);
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void shouldFetchPhotosFromFileAndHttpAndDeadLetterMissingOnes() throws Exception {
    // Given a catalog with a local photo, HTTP photos (one flaky, one missing), then a delete
    Files.copy(PHOTOS.get(0).path(), dir.resolve("local.jpg"));
    String http = "http://127.0.0.1:" + server.getAddress().getPort() + "/photos/";
    Path catalog =
        Files.writeString(
            dir.resolve("catalog.jsonl"),
            String.join(
                "\n",
                "{\"productId\":\"p1\",\"version\":1,\"title\":\"Local\",\"image\":\"local.jpg\"}",
                "{\"productId\":\"p2\",\"version\":1,\"title\":\"Remote\",\"images\":[{\"imageId\":\"a\",\"url\":\""
                    + http
                    + "1.jpg\"},"
                    + "{\"imageId\":\"b\",\"url\":\""
                    + http
                    + "2.jpg\",\"position\":1}]}",
                "{\"productId\":\"p3\",\"version\":1,\"title\":\"Gone\",\"image\":\""
                    + http
                    + "missing.jpg\"}",
                "{\"productId\":\"p4\",\"version\":1,\"title\":\"Flaky\",\"image\":\""
                    + http
                    + "flaky.jpg\"}",
                "{\"productId\":\"p1\",\"version\":2,\"type\":\"DELETE\"}"));

    Map<String, Object> config = new HashMap<>();
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    config.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
    config.put(FetcherConfig.FETCH_ALLOW_FILE_CONFIG, true);
    config.put(FetcherConfig.FETCH_ALLOWED_HOSTS_CONFIG, "127.0.0.1");
    config.put(FetcherConfig.FETCH_RETRIES_CONFIG, 2);
    config.put(FetcherConfig.FETCH_RETRY_BACKOFF_MS_CONFIG, 50);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();

    try (FetcherApp app = new FetcherApp(config, registry);
        KafkaProducer<String, ProductEvent> producer =
            new KafkaProducer<>(
                Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                new StringSerializer(),
                Serdes.productEvent().serializer())) {
      app.start();

      // When the catalog is loaded
      CatalogFileLoader.Result result =
          CatalogFileLoader.load(catalog, producer, TOPICS.productEvents(), false);
      assertThat(result.published()).isEqualTo(5);

      // Then every live photo is on product-images, p1 ends in a tombstone, p3 in the dead letters
      List<ConsumerRecord<String, byte[]>> images = new ArrayList<>();
      List<ConsumerRecord<byte[], byte[]>> letters = new ArrayList<>();
      try (KafkaConsumer<String, byte[]> imageConsumer =
              consumer(new StringDeserializer(), TOPICS.productImages());
          KafkaConsumer<byte[], byte[]> letterConsumer =
              consumer(new ByteArrayDeserializer(), TOPICS.deadLetters())) {
        await()
            .atMost(Duration.ofSeconds(60))
            .untilAsserted(
                () -> {
                  imageConsumer.poll(Duration.ofMillis(200)).forEach(images::add);
                  letterConsumer.poll(Duration.ofMillis(100)).forEach(letters::add);
                  assertThat(images).hasSize(5);
                  assertThat(letters).hasSize(1);
                });
      }
      assertThat(app.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
      // The scaffold it shares with the embedder exports its Kafka Streams metrics too
      assertThat(registry.getMeters())
          .extracting(m -> m.getId().getName())
          .contains("kafka.stream.alive.stream.threads")
          .anyMatch(name -> name.startsWith("kafka.stream.thread."));

      Map<String, ProductImage> latest = new HashMap<>();
      images.forEach(r -> latest.put(r.key(), Serdes.productImage().deserialize(r.value())));
      assertThat(latest).containsOnlyKeys("p1/0", "p2/a", "p2/b", "p4/0");
      assertThat(latest.get("p1/0")).isNull();
      assertThat(latest.get("p2/a").getSha256())
          .isEqualTo(ImageNormaliser.sha256(PHOTOS.get(1).bytes()));
      assertThat(latest.get("p2/b").getPosition()).isEqualTo(1);
      assertThat(latest.get("p4/0").getSha256())
          .isEqualTo(ImageNormaliser.sha256(PHOTOS.get(3).bytes()));
      assertThat(flakyCalls.get()).isEqualTo(2);

      ConsumerRecord<byte[], byte[]> letter = letters.get(0);
      assertThat(new String(letter.key())).isEqualTo("p3");
      assertThat(DeadLetters.header(letter.headers(), DeadLetters.REASON_CODE))
          .isEqualTo("not_found");
      assertThat(DeadLetters.header(letter.headers(), FetcherProcessor.URL_HEADER))
          .isEqualTo(http + "missing.jpg");
      assertThat(Serdes.productEvent().deserialize(letter.value()).getProductId()).isEqualTo("p3");
      assertThat(registry.counter("lookalike.fetcher.rejected", "reason", "not_found").count())
          .isEqualTo(1);
      assertThat(registry.counter("lookalike.fetcher.images", "outcome", "published").count())
          .isEqualTo(4);
      assertThat(registry.counter("lookalike.fetcher.images", "outcome", "tombstone").count())
          .isEqualTo(1);
    }
  }

  private static <K> KafkaConsumer<K, byte[]> consumer(
      org.apache.kafka.common.serialization.Deserializer<K> keys, String topic) {
    KafkaConsumer<K, byte[]> consumer =
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
            keys,
            new ByteArrayDeserializer());
    consumer.subscribe(List.of(topic));
    return consumer;
  }
}
