package io.lookalike.ingest.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.apache.kafka.connect.util.clusters.WorkerHandle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connector in a real Connect worker (Kafka's EmbeddedConnectCluster, exactly-once source) on a
 * real broker.
 */
class CatalogFeedConnectorIT {

  private static EmbeddedConnectCluster connect;

  @TempDir static Path tmp;

  @BeforeAll
  static void startConnect() {
    Properties broker = new Properties();
    broker.put("transaction.state.log.replication.factor", "1");
    broker.put("transaction.state.log.min.isr", "1");
    broker.put("offsets.topic.replication.factor", "1");
    broker.put("group.initial.rebalance.delay.ms", "0");
    Map<String, String> worker = new HashMap<>();
    worker.put("exactly.once.source.support", "enabled");
    worker.put("offset.flush.interval.ms", "500");
    connect =
        (EmbeddedConnectCluster)
            new EmbeddedConnectCluster.Builder()
                .name("feed-it")
                .numWorkers(1)
                .brokerProps(broker)
                .workerProps(worker)
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
  void shouldReadDirectoryFeedsPickUpChangesAndSurviveWorkerRestart() throws Exception {
    // Given a feed directory with a JSON Lines file (one malformed line) and a CSV file
    Path dir = Files.createDirectories(tmp.resolve("feeds"));
    Path jsonl = dir.resolve("a.jsonl");
    Files.writeString(
        jsonl, lines(json("p1", 1), json("p2", 1), "{\"productId\": broken", json("p3", 1)));
    Path csv = dir.resolve("b.csv");
    Files.writeString(
        csv,
        lines(
            "productId,version,title,price,currency,image_urls,colour",
            "c1,1,Shirt,9.5,EUR,https://cdn.example.com/c1.jpg|https://cdn.example.com/c1b.jpg,blue",
            "c2,1,\"Shoe, leather\",60,EUR,https://cdn.example.com/c2.jpg,"));
    String events = "dir.product-events";
    String letters = "dir.dead-letters";
    connect.kafka().createTopic(events, 1);
    connect.kafka().createTopic(letters, 1);

    try (Collector eventsSeen = new Collector(events);
        Collector lettersSeen = new Collector(letters)) {
      // When the connector starts
      connect.configureConnector(
          "dir-feed",
          connectorConfig(
              Map.of(
                  CatalogFeedConfig.DIR_CONFIG,
                  dir.toString(),
                  CatalogFeedConfig.EMIT_DELETES_CONFIG,
                  "true"),
              events,
              letters));

      // Then every valid line is an event, and the malformed one a dead letter with its file and
      // line
      eventsSeen.waitFor(5);
      assertThat(eventsSeen.ids())
          .containsExactlyInAnyOrder("p1:1", "p2:1", "p3:1", "c1:1", "c2:1");
      ProductEvent c1 = eventsSeen.event("c1:1");
      assertThat(c1.getImages()).hasSize(2);
      assertThat(c1.getProduct().getAttributes()).containsEntry("colour", "blue");
      assertThat(eventsSeen.event("c2:1").getProduct().getTitle()).isEqualTo("Shoe, leather");
      lettersSeen.waitFor(1);
      ConsumerRecord<String, byte[]> letter = lettersSeen.records.get(0);
      assertThat(header(letter, FeedRecords.SOURCE_HEADER))
          .isEqualTo(jsonl.toAbsolutePath().toString());
      assertThat(header(letter, FeedRecords.LINE_HEADER)).isEqualTo("3");
      assertThat(header(letter, DeadLetters.REASON_CODE)).isEqualTo("invalid_line");
      assertThat(new String(letter.value(), StandardCharsets.UTF_8))
          .isEqualTo("{\"productId\": broken");
      // and counted where Connect operators look: a plugin metric of the task, a JMX MBean of the
      // worker
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> pluginMetric("dir-feed", "lookalike-connector-rejected-count") == 1);

      // When lines are appended and a new file appears
      Files.writeString(jsonl, lines(json("p4", 1), json("p1", 2)), StandardOpenOption.APPEND);
      Files.writeString(dir.resolve("c.jsonl"), lines(json("n1", 1)));
      eventsSeen.waitFor(8);
      assertThat(eventsSeen.ids()).contains("p4:1", "p1:2", "n1:1");

      // When the worker is restarted, then more lines arrive
      WorkerHandle old = connect.workers().iterator().next();
      connect.removeWorker(old);
      connect.addWorker();
      Files.writeString(jsonl, lines(json("p5", 1)), StandardOpenOption.APPEND);
      connect
          .assertions()
          .assertConnectorAndAtLeastNumTasksAreRunning("dir-feed", 1, "connector running again");
      eventsSeen.waitFor(9);

      // When the CSV feed is replaced by a version without c2
      Path next = dir.resolve("b.csv.tmp");
      Files.writeString(next, lines("productId,version,title", "c1,2,Shirt v2", "c3,1,Hat"));
      Files.move(next, csv, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      eventsSeen.waitFor(12);

      // A sentinel line, appended last: the topic has one partition and the task emits in order, so
      // anything re-emitted by the restart or the replacement would have arrived before it.
      Files.writeString(jsonl, lines(json("sentinel", 1)), StandardOpenOption.APPEND);
      eventsSeen.waitFor(13);

      // Then: no duplicates, no gaps, and c2 is deleted as missing from the new full feed
      List<String> ids = eventsSeen.ids();
      assertThat(ids).doesNotHaveDuplicates().hasSize(13).endsWith("sentinel:1");
      assertThat(ids).contains("p5:1", "c1:2", "c3:1");
      ProductEvent delete =
          eventsSeen.events.stream()
              .filter(e -> e.getType() == EventType.DELETE)
              .findFirst()
              .orElseThrow();
      assertThat(delete.getProductId()).isEqualTo("c2");
      assertThat(lettersSeen.records).hasSize(1);
    }
    connect.deleteConnector("dir-feed");
  }

  @Test
  void shouldPollUrlFeedWithEtagAndReadNewVersions() throws Exception {
    AtomicReference<String> body = new AtomicReference<>(lines(json("u1", 1), json("u2", 1)));
    AtomicInteger notModified = new AtomicInteger();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/feed.jsonl",
        ex -> {
          String current = body.get();
          String etag = "\"" + Integer.toHexString(current.hashCode()) + "\"";
          if (etag.equals(ex.getRequestHeaders().getFirst("If-None-Match"))) {
            notModified.incrementAndGet();
            ex.sendResponseHeaders(304, -1);
          } else {
            byte[] bytes = current.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("ETag", etag);
            ex.sendResponseHeaders(200, bytes.length);
            ex.getResponseBody().write(bytes);
          }
          ex.close();
        });
    server.start();
    String events = "url.product-events";
    String letters = "url.dead-letters";
    connect.kafka().createTopic(events, 1);
    connect.kafka().createTopic(letters, 1);
    try (Collector eventsSeen = new Collector(events)) {
      String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/feed.jsonl";
      connect.configureConnector(
          "url-feed",
          connectorConfig(
              Map.of(
                  CatalogFeedConfig.URL_CONFIG, url, CatalogFeedConfig.EMIT_DELETES_CONFIG, "true"),
              events,
              letters));
      eventsSeen.waitFor(2);
      await().atMost(Duration.ofSeconds(20)).until(() -> notModified.get() >= 2);

      body.set(lines(json("u1", 2), json("u3", 1)));
      eventsSeen.waitFor(5);
      assertThat(eventsSeen.ids())
          .containsExactly("u1:1", "u2:1", "u1:2", "u3:1", eventsSeen.ids().get(4));
      assertThat(eventsSeen.events.get(4).getType()).isEqualTo(EventType.DELETE);
      assertThat(eventsSeen.events.get(4).getProductId()).isEqualTo("u2");
    } finally {
      connect.deleteConnector("url-feed");
      server.stop(0);
    }
  }

  private static Map<String, String> connectorConfig(
      Map<String, String> feed, String events, String letters) {
    Map<String, String> config = new HashMap<>(feed);
    config.put("connector.class", CatalogFeedSourceConnector.class.getName());
    config.put("tasks.max", "1");
    config.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
    config.put("value.converter", "org.apache.kafka.connect.converters.ByteArrayConverter");
    config.put(CatalogFeedConfig.TOPIC_CONFIG, events);
    config.put(CatalogFeedConfig.DEAD_LETTER_TOPIC_CONFIG, letters);
    config.put(CatalogFeedConfig.POLL_INTERVAL_MS_CONFIG, "200");
    config.put(CatalogFeedConfig.SETTLE_MS_CONFIG, "0");
    return config;
  }

  private static String json(String productId, int version) {
    return "{\"productId\":\""
        + productId
        + "\",\"version\":"
        + version
        + ",\"title\":\""
        + productId
        + "\",\"image\":\"https://cdn.example.com/"
        + productId
        + ".jpg\"}";
  }

  private static String lines(String... lines) {
    return String.join("\n", lines) + "\n";
  }

  /**
   * The sum of an attribute over the connector's plugin-metrics MBeans
   * (kafka.connect:type=plugins,...); -1: none.
   */
  private static double pluginMetric(String connector, String attribute) throws Exception {
    javax.management.MBeanServer server =
        java.lang.management.ManagementFactory.getPlatformMBeanServer();
    double sum = -1;
    for (javax.management.ObjectName name :
        server.queryNames(
            new javax.management.ObjectName(
                "kafka.connect:type=plugins,connector=" + connector + ",*"),
            null)) {
      for (javax.management.MBeanAttributeInfo info : server.getMBeanInfo(name).getAttributes()) {
        if (info.getName().equals(attribute)) {
          sum = Math.max(sum, 0) + ((Number) server.getAttribute(name, attribute)).doubleValue();
        }
      }
    }
    return sum;
  }

  private static String header(ConsumerRecord<?, ?> record, String name) {
    return DeadLetters.header(record.headers(), name);
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
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> {
                poll();
                return records.size() >= count;
              });
    }

    void poll() {
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
        records.add(r);
        if (!r.topic().contains("dead-letters")) {
          events.add(Serdes.productEvent().deserialize(r.value()));
        }
      }
    }

    List<String> ids() {
      poll();
      return events.stream().map(e -> e.getEventId().toString()).toList();
    }

    ProductEvent event(String eventId) {
      return events.stream()
          .filter(e -> e.getEventId().toString().equals(eventId))
          .findFirst()
          .orElseThrow();
    }

    @Override
    public void close() {
      consumer.close();
    }
  }
}
