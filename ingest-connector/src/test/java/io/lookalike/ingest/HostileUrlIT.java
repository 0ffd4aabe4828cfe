package io.lookalike.ingest;

import static io.lookalike.ingest.FetcherTopologyTest.metadata;
import static io.lookalike.ingest.FetcherTopologyTest.upsert;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.testkit.HostileImages;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile image servers against the real fetcher on a real broker. Every server runs on 127.0.0.1
 * (the only address allow-listed); the SSRF cases aim at other loopback addresses, which the guard
 * refuses before any connection is opened.
 */
class HostileUrlIT {

  private static final Topics TOPICS = Topics.defaults();
  private static final List<SampleImages.Photo> PHOTOS = SampleImages.photos("validation", 4);
  private static final long MAX_BYTES = 2L << 20;
  private static final long FIVE_GB = 5L << 30;
  private static final int TIMEOUT_MS = 2000;

  private static KafkaBroker broker;
  private static HttpServer server;
  private static String base;
  private static int port;
  private static final AtomicLong hugeBytesSent = new AtomicLong();
  private static final AtomicInteger flakyCalls = new AtomicInteger();
  private static final AtomicInteger busyCalls = new AtomicInteger();
  private static final AtomicInteger photoCalls = new AtomicInteger();

  @TempDir static Path dir;

  @BeforeAll
  static void start() throws Exception {
    broker = KafkaBroker.start();
    broker.createTopics(1, TOPICS.productEvents(), TOPICS.deadLetters());
    broker.createCompactedTopics(1, TOPICS.productImages());
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext(
        "/photo/",
        ex -> {
          photoCalls.incrementAndGet();
          send(
              ex,
              200,
              "image/jpeg",
              PHOTOS
                  .get(Integer.parseInt(ex.getRequestURI().getPath().replaceAll("\\D", "")))
                  .bytes());
        });
    server.createContext(
        "/huge", ex -> stream(ex, 0)); // chunked: the limit must hold while streaming
    server.createContext("/huge-declared", ex -> stream(ex, FIVE_GB));
    server.createContext(
        "/drip",
        ex -> { // one byte per second, forever
          ex.getResponseHeaders().add("Content-Type", "image/jpeg");
          ex.sendResponseHeaders(200, 0);
          try (OutputStream out = ex.getResponseBody()) {
            for (int i = 0; i < 60; i++) {
              out.write(0xFF);
              out.flush();
              Thread.sleep(1000);
            }
          } catch (IOException | InterruptedException e) {
            // the fetcher hung up, as it should
          }
        });
    server.createContext(
        "/bomb.png", ex -> send(ex, 200, "image/png", HostileImages.hugePng(50_000, 50_000)));
    server.createContext(
        "/page.jpg",
        ex ->
            send(
                ex,
                200,
                "image/jpeg",
                "<html><body><img src=x></body></html>".getBytes(StandardCharsets.UTF_8)));
    server.createContext("/missing.jpg", ex -> send(ex, 404, "text/plain", "not here".getBytes()));
    server.createContext(
        "/flaky.jpg",
        ex -> {
          if (flakyCalls.incrementAndGet() == 1) {
            send(ex, 500, "text/plain", "try again".getBytes());
          } else {
            send(ex, 200, "image/jpeg", PHOTOS.get(1).bytes());
          }
        });
    server.createContext(
        "/busy.jpg",
        ex -> {
          if (busyCalls.incrementAndGet() == 1) {
            ex.getResponseHeaders().add("Retry-After", "1");
            send(ex, 429, "text/plain", "slow down".getBytes());
          } else {
            send(ex, 200, "image/jpeg", PHOTOS.get(2).bytes());
          }
        });
    server.createContext(
        "/to-v6-loopback", ex -> redirect(ex, "http://[::1]:" + port + "/photo/0.jpg"));
    server.createContext(
        "/to-other-loopback", ex -> redirect(ex, "http://127.0.0.2:" + port + "/photo/0.jpg"));
    server.start();
    port = server.getAddress().getPort();
    base = "http://127.0.0.1:" + port;
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
  void shouldDeadLetterEveryHostileUrlWithItsReasonWhileServingTheOthers() throws Exception {
    // Given, on one partition, the slowest case first, then the other hostile ones, then good
    // photos
    Map<String, String> expected = new LinkedHashMap<>();
    Map<String, String> urls = new LinkedHashMap<>();
    urls.put("drip", base + "/drip");
    expected.put("drip", "fetch_timeout");
    urls.put("huge", base + "/huge");
    expected.put("huge", "too_large");
    urls.put("huge-declared", base + "/huge-declared");
    expected.put("huge-declared", "too_large");
    urls.put("bomb", base + "/bomb.png");
    expected.put("bomb", "too_many_pixels");
    urls.put("html", base + "/page.jpg");
    expected.put("html", "unsupported_type");
    urls.put("missing", base + "/missing.jpg");
    expected.put("missing", "not_found");
    urls.put("v6-loopback", "http://[::1]:" + port + "/photo/0.jpg");
    urls.put("other-loopback", "http://127.0.0.2:" + port + "/photo/0.jpg");
    urls.put("localhost", "http://localhost:" + port + "/photo/0.jpg");
    urls.put("redirect-v6", base + "/to-v6-loopback");
    urls.put("redirect-other", base + "/to-other-loopback");
    for (String ssrf :
        List.of("v6-loopback", "other-loopback", "localhost", "redirect-v6", "redirect-other")) {
      expected.put(ssrf, "ssrf_blocked");
    }
    urls.put("flaky", base + "/flaky.jpg");
    urls.put("busy", base + "/busy.jpg");
    for (int i = 0; i < 4; i++) {
      urls.put("ok" + i, base + "/photo/" + i + ".jpg");
    }

    Map<String, Object> config = new HashMap<>();
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    config.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
    config.put(FetcherConfig.FETCH_ALLOWED_HOSTS_CONFIG, "127.0.0.1");
    config.put(FetcherConfig.FETCH_MAX_BYTES_CONFIG, MAX_BYTES);
    config.put(FetcherConfig.FETCH_TIMEOUT_MS_CONFIG, TIMEOUT_MS);
    config.put(FetcherConfig.FETCH_RETRIES_CONFIG, 1);
    config.put(FetcherConfig.FETCH_RETRY_BACKOFF_MS_CONFIG, 100);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();

    try (FetcherApp app = new FetcherApp(config, registry);
        KafkaProducer<String, ProductEvent> producer =
            new KafkaProducer<>(
                Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                new StringSerializer(),
                Serdes.productEvent().serializer())) {
      app.start();
      for (Map.Entry<String, String> url : urls.entrySet()) {
        producer.send(
            new ProducerRecord<>(
                TOPICS.productEvents(),
                url.getKey(),
                upsert(
                    url.getKey(),
                    1,
                    metadata(url.getKey()),
                    new ImageRef("0", url.getValue(), 0))));
      }
      producer.flush();

      // Then every hostile URL ends as a dead letter with its reason, the others as images
      Map<String, String> reasons = new HashMap<>();
      Set<String> published = new HashSet<>();
      try (KafkaConsumer<String, byte[]> images = consumer(TOPICS.productImages());
          KafkaConsumer<String, byte[]> letters = consumer(TOPICS.deadLetters())) {
        await()
            .atMost(Duration.ofSeconds(90))
            .untilAsserted(
                () -> {
                  for (ConsumerRecord<String, byte[]> r : images.poll(Duration.ofMillis(100))) {
                    published.add(r.key().substring(0, r.key().indexOf('/')));
                  }
                  for (ConsumerRecord<String, byte[]> r : letters.poll(Duration.ofMillis(100))) {
                    reasons.put(r.key(), DeadLetters.header(r.headers(), DeadLetters.REASON_CODE));
                  }
                  assertThat(reasons).hasSize(expected.size());
                  assertThat(published).hasSize(urls.size() - expected.size());
                });
      }

      assertThat(reasons).containsExactlyInAnyOrderEntriesOf(expected);
      assertThat(published).containsOnly("flaky", "busy", "ok0", "ok1", "ok2", "ok3");
      // How long the drip held its fetch is a benchmark matter (FetcherBenchmark), not an
      // assertion:
      // on a loaded machine the other fetches may finish after it.
      // The 5 GB bodies were cut off near the limit, never stored
      assertThat(hugeBytesSent.get()).isLessThan(64L << 20);
      assertThat(busyCalls.get()).isEqualTo(2);
      assertThat(flakyCalls.get()).isEqualTo(2);
      assertThat(photoCalls.get())
          .isEqualTo(4); // none through the refused loopback URLs and redirects
      assertThat(registry.counter("lookalike.fetcher.rejected", "reason", "ssrf_blocked").count())
          .isEqualTo(5);
      assertThat(registry.counter("lookalike.fetcher.rejected", "reason", "too_large").count())
          .isEqualTo(2);
    }
  }

  private static void stream(HttpExchange ex, long declared) throws IOException {
    ex.getResponseHeaders().add("Content-Type", "image/jpeg");
    ex.sendResponseHeaders(200, declared);
    byte[] chunk = new byte[64 * 1024];
    chunk[0] = (byte) 0xFF;
    chunk[1] = (byte) 0xD8;
    chunk[2] = (byte) 0xFF;
    try (OutputStream out = ex.getResponseBody()) {
      for (long sent = 0; sent < FIVE_GB; sent += chunk.length) {
        out.write(chunk);
        hugeBytesSent.addAndGet(chunk.length);
      }
    } catch (IOException e) {
      // the fetcher hung up at its limit, as it should
    }
  }

  private static void send(HttpExchange ex, int status, String type, byte[] body)
      throws IOException {
    ex.getResponseHeaders().add("Content-Type", type);
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
    ex.close();
  }

  private static void redirect(HttpExchange ex, String location) throws IOException {
    ex.getResponseHeaders().add("Location", location);
    ex.sendResponseHeaders(302, -1);
    ex.close();
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
}
