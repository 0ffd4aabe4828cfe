package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.SmallDisk;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A distributed stage's {@code /health} ({@code lookalike fetcher} in a JVM of its own, its state
 * directory on a small tmpfs the test mounts): its check {@code disk} goes DOWN (503, naming the
 * directory) when the disk fills and UP again once space is freed; its check {@code progress} goes
 * DOWN while its lag stands still behind a photo server that does not answer, and UP again once the
 * photo comes.
 */
class StageHealthIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Duration BOUND = Duration.ofMinutes(3);
  private static final long FLOOR = 16L * 1024 * 1024;

  @TempDir Path tmp;

  @Test
  void shouldGoDownWhenTheDiskFillsOrTheLagStandsStillAndUpAgainOnceItMoves() throws Exception {
    Optional<SmallDisk> mounted = SmallDisk.mount(tmp.resolve("disk"), 64);
    Assumptions.assumeTrue(mounted.isPresent(), "cannot mount a tmpfs here (needs root)");
    CountDownLatch release = new CountDownLatch(1);
    byte[] photo = SampleImages.photos("train", 1).get(0).bytes();
    HttpServer photos = photoServer(release, photo);
    try (SmallDisk disk = mounted.get();
        KafkaBroker kafka = KafkaBroker.start()) {
      Path state = Files.createDirectories(disk.dir().resolve("state"));
      int port = freePort();
      try (ChildJvm fetcher = startFetcher(kafka, state, port)) {
        // Given a running fetcher, healthy
        JsonNode up = awaitHealth(fetcher, port, 200);
        assertThat(up.at("/checks/disk/status").asText()).isEqualTo("UP");
        assertThat(up.at("/checks/progress/detail").asText()).contains("lag 0");

        // When its disk fills below the floor, then DOWN, naming the directory
        Path filler = disk.fill(8);
        JsonNode full = awaitHealth(fetcher, port, 503);
        assertThat(full.at("/checks/disk/status").asText()).isEqualTo("DOWN");
        assertThat(full.at("/checks/disk/detail").asText())
            .contains("free in " + state.toAbsolutePath())
            .contains("free some space");
        assertThat(full.at("/detail").asText()).startsWith("disk: only");

        // And once space is freed, UP again by itself
        Files.delete(filler);
        assertThat(awaitHealth(fetcher, port, 200).at("/checks/disk/status").asText())
            .isEqualTo("UP");

        // When its lag stands still (the photo server holds the request), then DOWN: stuck
        try (KafkaProducer<String, ProductEvent> producer = producer(kafka)) {
          producer
              .send(
                  new ProducerRecord<>(
                      Topics.defaults().productEvents(),
                      "p1",
                      event("http://127.0.0.1:" + photos.getAddress().getPort() + "/photos/1.jpg")))
              .get(30, TimeUnit.SECONDS);
        }
        JsonNode stuck = awaitHealth(fetcher, port, 503);
        assertThat(stuck.at("/checks/progress/status").asText()).isEqualTo("DOWN");
        assertThat(stuck.at("/checks/progress/detail").asText())
            .contains("stuck, lag 1 has not gone down");
        assertThat(stuck.at("/checks/disk/status").asText()).isEqualTo("UP");

        // And once the photo comes, UP again with lag 0
        release.countDown();
        await()
            .atMost(BOUND)
            .pollInterval(Duration.ofMillis(250))
            .ignoreExceptions()
            .until(
                () -> {
                  JsonNode now = health(port);
                  return now.at("/status").asText().equals("UP")
                      && now.at("/checks/progress/detail").asText().contains("lag 0");
                });
      }
    } finally {
      release.countDown();
      photos.stop(0);
    }
  }

  private ChildJvm startFetcher(KafkaBroker kafka, Path state, int port) throws IOException {
    return ChildJvm.start(
        "fetcher",
        ChildJvm.testClasspath(),
        List.of("-Xmx256m"),
        Lookalike.class.getName(),
        List.of(
            "fetcher",
            "--bootstrap-servers=" + kafka.bootstrapServers(),
            "--partitions=1",
            "--replication-factor=1",
            "--metrics-port=" + port,
            "--metrics-bind=127.0.0.1",
            "-Dstate.dir=" + state,
            "-Dimage.fetch.allowed.hosts=127.0.0.1",
            "-Dimage.fetch.timeout.ms=120000",
            "-Dhealth.min.free.bytes=" + FLOOR,
            "-Dhealth.stuck.after.ms=1000"),
        tmp.resolve("fetcher.log"));
  }

  /** Waits for /health to answer {@code status}; returns its body. */
  private static JsonNode awaitHealth(ChildJvm child, int port, int status) {
    JsonNode[] body = new JsonNode[1];
    await()
        .atMost(BOUND)
        .pollInterval(Duration.ofMillis(250))
        .ignoreExceptions()
        .until(
            () -> {
              assertThat(child.alive()).as(child.name() + " alive: " + child.tail(30)).isTrue();
              HttpResponse<String> response = get(port);
              body[0] = JSON.readTree(response.body());
              return response.statusCode() == status;
            });
    return body[0];
  }

  private static JsonNode health(int port) throws Exception {
    return JSON.readTree(get(port).body());
  }

  private static HttpResponse<String> get(int port) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Answers each photo request once {@code release} opens. */
  private static HttpServer photoServer(CountDownLatch release, byte[] photo) throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
    server.createContext(
        "/photos/",
        exchange -> {
          try {
            release.await(5, TimeUnit.MINUTES);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          exchange.getResponseHeaders().set("Content-Type", "image/jpeg");
          exchange.sendResponseHeaders(200, photo.length);
          exchange.getResponseBody().write(photo);
          exchange.close();
        });
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    return server;
  }

  private static ProductEvent event(String url) {
    return ProductEvent.newBuilder()
        .setEventId("e1")
        .setType(EventType.UPSERT)
        .setProductId("p1")
        .setVersion(1)
        .setOccurredAt(Instant.now())
        .setProduct(ProductMetadata.newBuilder().setTitle("Product p1").build())
        .setImages(
            List.of(ImageRef.newBuilder().setImageId("0").setUrl(url).setPosition(0).build()))
        .build();
  }

  private static KafkaProducer<String, ProductEvent> producer(KafkaBroker kafka) {
    Map<String, Object> config = new HashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(config, new StringSerializer(), Serdes.productEvent().serializer());
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
