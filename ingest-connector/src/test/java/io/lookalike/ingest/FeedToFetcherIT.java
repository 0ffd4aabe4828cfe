package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.ingest.connect.CatalogFeedConfig;
import io.lookalike.ingest.connect.CatalogFeedSourceConnector;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.testkit.SampleImages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The feed source in a real Connect worker (Kafka's EmbeddedConnectCluster) with what a feed
 * operator does to its files, and the events it wrote fed to the fetcher's topology: no change goes
 * unnoticed, no product removed by a full feed stays removed once it is listed again.
 */
class FeedToFetcherIT {

  private static final List<SampleImages.Photo> PHOTOS = SampleImages.photos("test", 2);
  private static EmbeddedConnectCluster connect;

  @TempDir static Path tmp;

  @BeforeAll
  static void startConnect() {
    Properties broker = new Properties();
    broker.put("transaction.state.log.replication.factor", "1");
    broker.put("transaction.state.log.min.isr", "1");
    broker.put("offsets.topic.replication.factor", "1");
    broker.put("group.initial.rebalance.delay.ms", "0");
    connect =
        new EmbeddedConnectCluster.Builder()
            .name("feed-fetcher-it")
            .numWorkers(1)
            .brokerProps(broker)
            .workerProps(new HashMap<>(Map.of("offset.flush.interval.ms", "500")))
            .build();
    connect.start();
  }

  @AfterAll
  static void stopConnect() {
    if (connect != null) {
      connect.stop();
    }
  }

  @Test
  void shouldReReadFileWhenSameLengthEditIsMovedOverIt() throws Exception {
    // Given a feed file that has been read
    Path dir = Files.createDirectories(tmp.resolve("same-length"));
    Path feed = dir.resolve("catalog.jsonl");
    String before = lines(json("p1", 1, 55.0, 0), json("p2", 1, 20.0, 1), json("p3", 1, 30.0, 0));
    Files.writeString(feed, before);
    String events = "same-length.product-events";
    connect.kafka().createTopic(events, 1);
    try (Collector seen = new Collector(events)) {
      connect.configureConnector("same-length", config(dir, events, false));
      seen.waitFor(3);

      // When line 2 changes (price 20.0 to 65.0, version 1 to 7: the same length) and the new file
      // is moved over it
      String after = lines(json("p1", 1, 55.0, 0), json("p2", 7, 65.0, 1), json("p3", 1, 30.0, 0));
      assertThat(after).hasSameSizeAs(before);
      Path next = dir.resolve("catalog.jsonl.tmp");
      Files.writeString(next, after);
      Files.move(next, feed, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

      // Then the file is read again, and the changed product has its new version and price
      seen.waitFor(6);
      ProductEvent p2 =
          seen.events.stream()
              .filter(e -> e.getProductId().equals("p2") && e.getVersion() == 7)
              .findFirst()
              .orElseThrow();
      assertThat(p2.getProduct().getPrice().getAmount()).isEqualTo(65.0);
    } finally {
      connect.deleteConnector("same-length");
    }
  }

  @Test
  void shouldBringBackProductDeletedByFullFeedWhenListedAgainWithItsOwnVersion() throws Exception {
    // Given a full feed (feed.emit.deletes) with its own version numbers, and a fetcher reading its
    // events
    Path dir = Files.createDirectories(tmp.resolve("relist"));
    Path feed = dir.resolve("catalog.jsonl");
    Files.writeString(feed, lines(json("p1", 1, 10.0, 0), json("p2", 1, 20.0, 1)));
    String events = "relist.product-events";
    connect.kafka().createTopic(events, 1);
    try (Collector seen = new Collector(events);
        Fetcher fetcher = new Fetcher(tmp.resolve("relist-state"))) {
      connect.configureConnector("relist", config(dir, events, true));
      seen.waitFor(2);

      // When a version of the feed no longer lists p2
      replace(feed, lines(json("p1", 1, 10.0, 0)));
      seen.waitFor(4);
      ProductEvent delete = seen.events.get(3);
      assertThat(delete.getType()).isEqualTo(EventType.DELETE);
      assertThat(delete.getProductId()).isEqualTo("p2");
      assertThat(delete.getVersion()).as("the last version the feed listed p2 with").isEqualTo(1);

      // and a later version lists it again, as version 3 (it begins with the same bytes, so only p2
      // is new)
      replace(feed, lines(json("p1", 1, 10.0, 0), json("p2", 3, 21.0, 1)));
      seen.waitFor(5);
      assertThat(seen.events.get(4).getProductId()).isEqualTo("p2");
      assertThat(seen.events.get(4).getType()).isEqualTo(EventType.UPSERT);

      // Then the fetcher, given the events in their order, publishes p2, deletes it, and publishes
      // it again
      seen.records.forEach(fetcher::pipe);
      List<String> p2 =
          fetcher.images().stream()
              .filter(r -> r.key().startsWith("p2/"))
              .map(r -> r.value() == null ? "tombstone" : "v" + r.value().getVersion())
              .toList();
      assertThat(p2).containsExactly("v1", "tombstone", "v3");
      assertThat(fetcher.registry.counter("lookalike.fetcher.events.stale").count()).isZero();
    } finally {
      connect.deleteConnector("relist");
    }
  }

  private static void replace(Path feed, String content) throws Exception {
    Path next = feed.resolveSibling(feed.getFileName() + ".tmp");
    Files.writeString(next, content);
    Files.move(next, feed, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static Map<String, String> config(Path dir, String events, boolean emitDeletes) {
    Map<String, String> config = new HashMap<>();
    config.put("connector.class", CatalogFeedSourceConnector.class.getName());
    config.put("tasks.max", "1");
    config.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
    config.put("value.converter", "org.apache.kafka.connect.converters.ByteArrayConverter");
    config.put(CatalogFeedConfig.DIR_CONFIG, dir.toString());
    config.put(CatalogFeedConfig.EMIT_DELETES_CONFIG, Boolean.toString(emitDeletes));
    config.put(CatalogFeedConfig.TOPIC_CONFIG, events);
    config.put(CatalogFeedConfig.DEAD_LETTER_TOPIC_CONFIG, events + ".dead-letters");
    config.put(CatalogFeedConfig.POLL_INTERVAL_MS_CONFIG, "200");
    config.put(CatalogFeedConfig.SETTLE_MS_CONFIG, "0");
    return config;
  }

  private static String json(String productId, int version, double price, int photo) {
    return "{\"productId\":\""
        + productId
        + "\",\"version\":"
        + version
        + ",\"title\":\""
        + productId
        + "\",\"price\":"
        + price
        + ",\"currency\":\"EUR\",\"image\":\""
        + PHOTOS.get(photo).path().toUri()
        + "\"}";
  }

  private static String lines(String... lines) {
    return String.join("\n", lines) + "\n";
  }

  /** Reads a topic (committed records only) into memory. */
  private static final class Collector implements AutoCloseable {
    final KafkaConsumer<String, byte[]> consumer;
    final List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
    final List<ProductEvent> events = new ArrayList<>();

    Collector(String topic) {
      consumer =
          new KafkaConsumer<>(
              Map.of(
                  ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                  connect.kafka().bootstrapServers(),
                  ConsumerConfig.GROUP_ID_CONFIG,
                  "it-" + topic,
                  ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                  "earliest",
                  ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                  "read_committed"),
              new StringDeserializer(),
              new ByteArrayDeserializer());
      consumer.subscribe(List.of(topic));
    }

    void waitFor(int count) {
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                  records.add(r);
                  events.add(Serdes.productEvent().deserialize(r.value()));
                }
                return records.size() >= count;
              });
    }

    @Override
    public void close() {
      consumer.close();
    }
  }

  /** The fetcher's topology in a TopologyTestDriver, fetching the sample photos from file: URLs. */
  private static final class Fetcher implements AutoCloseable {
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final TopologyTestDriver driver;
    final TestInputTopic<byte[], byte[]> in;
    final TestOutputTopic<String, ProductImage> out;

    Fetcher(Path state) {
      Topics topics = Topics.defaults();
      ImageDownloader downloader =
          new ImageDownloader(
              new ImageDownloader.Options(
                  10 << 20,
                  Duration.ofSeconds(1),
                  Duration.ofSeconds(5),
                  2,
                  0,
                  Duration.ZERO,
                  true));
      Properties props = new Properties();
      props.put(StreamsConfig.APPLICATION_ID_CONFIG, "feed-fetcher-it");
      props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
      props.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
      driver =
          new TopologyTestDriver(
              FetcherApp.buildTopology(
                  new StreamsBuilder(),
                  topics,
                  ImageFetcher.of(downloader, new ImageNormaliser()),
                  registry),
              props);
      in =
          driver.createInputTopic(
              topics.productEvents(), new ByteArraySerializer(), new ByteArraySerializer());
      out =
          driver.createOutputTopic(
              topics.productImages(),
              new StringDeserializer(),
              Serdes.productImage().deserializer());
    }

    void pipe(ConsumerRecord<String, byte[]> record) {
      in.pipeInput(record.key().getBytes(java.nio.charset.StandardCharsets.UTF_8), record.value());
    }

    List<org.apache.kafka.streams.test.TestRecord<String, ProductImage>> images() {
      return out.readRecordsToList();
    }

    @Override
    public void close() {
      driver.close();
    }
  }
}
