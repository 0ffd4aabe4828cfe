package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.lookalike.image.NearDuplicates;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.testkit.HostileImages;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.SampleImages.Photo;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local mode end to end, on real parts: an in-process KRaft broker, the fetcher reading real
 * photos, the embedder running the bundled model through DJL, the Lucene sink, and the gateway
 * queried over HTTP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalModeIT {

  private static final int PRODUCTS = 100;
  private static final ObjectMapper JSON = new ObjectMapper();

  private Path tmp;
  private LocalMode local;
  private KafkaProducer<String, ProductEvent> producer;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<Photo> photos = SampleImages.photos("test", PRODUCTS);
  private final Map<String, Long> versions = new HashMap<>();

  @BeforeAll
  void startLocalMode(@TempDir Path tmp) throws Exception {
    this.tmp = tmp;
    local =
        new LocalMode(
                new LocalMode.Options(
                    tmp.resolve("data"),
                    "127.0.0.1",
                    freePort(),
                    freePort(),
                    0,
                    // A catalog's own image server on loopback is allow-listed, as an operator
                    // would do for a local CDN.
                    "127.0.0.1",
                    null,
                    2,
                    false,
                    Map.of("image.fetch.allowed.hosts", "127.0.0.1")))
            .start();
    producer = LocalMode.eventProducer(local.bootstrapServers());
  }

  @AfterAll
  void stop() {
    if (producer != null) {
      producer.close();
    }
    if (local != null) {
      local.close();
    }
  }

  @Test
  @Order(1)
  void shouldDeadLetterBadImagesAndStillIndexThePhotosPublishedAfterThem() throws Exception {
    // Given five products whose photo is broken in a different way, published first
    byte[] realJpeg = photos.get(0).bytes();
    Map<String, String> badProducts = new HashMap<>();
    badProducts.put("bad-corrupt", write("corrupt.jpg", HostileImages.corruptJpeg(realJpeg)));
    badProducts.put("bad-empty", write("empty.jpg", HostileImages.zeroBytes()));
    badProducts.put("bad-text", write("text.jpg", HostileImages.textFile()));
    badProducts.put("bad-huge", write("huge.png", HostileImages.hugePng(20000, 20000)));
    badProducts.put("bad-missing", tmp.resolve("does-not-exist.jpg").toUri().toString());
    for (var bad : badProducts.entrySet()) {
      publish(upsert(bad.getKey(), "other", bad.getValue()));
    }

    // When 100 real photos follow
    for (Photo photo : photos) {
      publish(upsert(productId(photo), photo.category(), photo.path().toUri().toString()));
    }
    producer.flush();

    // Then every one becomes searchable through the gateway's HTTP API
    await()
        .atMost(Duration.ofMinutes(4))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              long missing = photos.stream().filter(p -> !isSearchable(productId(p))).count();
              assertThat(missing).as("products not yet searchable").isZero();
            });

    // And each bad photo is a dead letter with its reason
    Map<String, String> reasons = deadLetterReasons(badProducts.size());
    assertThat(reasons)
        .containsEntry("bad-corrupt", "corrupt_image")
        .containsEntry("bad-empty", "empty")
        .containsEntry("bad-text", "unsupported_type")
        .containsEntry("bad-huge", "too_many_pixels")
        .containsEntry("bad-missing", "not_found");
  }

  @Test
  @Order(2)
  void shouldFindTheProductFromAnAlteredCopyOfItsPhoto() throws Exception {
    int found = 0;
    List<String> misses = new ArrayList<>();
    List<Photo> queries = photos.subList(0, 50);
    for (Photo photo : queries) {
      JsonNode response = searchByPhoto(NearDuplicates.of(photo.bytes()));
      String top = response.path("results").path(0).path("productId").asText();
      if (top.equals(productId(photo))) {
        found++;
      } else {
        misses.add(photo.id() + " -> " + top);
      }
    }
    assertThat(found)
        .as("near-duplicates found first; misses: %s", misses)
        .isGreaterThanOrEqualTo(48);
  }

  @Test
  @Order(3)
  void shouldRemoveADeletedProductFromResults() throws Exception {
    Photo photo = photos.get(10);
    String id = productId(photo);
    long version = versions.merge(id, 1L, Long::sum);
    publish(
        ProductEvent.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setType(EventType.DELETE)
            .setProductId(id)
            .setVersion(version)
            .setOccurredAt(Instant.now())
            .setProduct(null)
            .setImages(List.of())
            .build());
    producer.flush();

    await().atMost(Duration.ofSeconds(60)).until(() -> !isSearchable(id));
    JsonNode response = searchByPhoto(photo.bytes());
    for (JsonNode result : response.path("results")) {
      assertThat(result.path("productId").asText()).isNotEqualTo(id);
    }
  }

  @Test
  @Order(4)
  void shouldReplaceTheVectorWhenAProductsImageIsReplaced() throws Exception {
    Photo original = photos.get(20);
    Photo replacement = SampleImages.photos("validation", 1).get(0);
    String id = productId(original);
    ImageKey key = new ImageKey(id, "main");
    String oldSha = local.store().get(key).orElseThrow().sha256();

    publish(upsert(id, original.category(), replacement.path().toUri().toString()));
    producer.flush();

    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> local.store().get(key).map(i -> !i.sha256().equals(oldSha)).orElse(false));
    assertThat(local.store().imagesOf(id)).hasSize(1);
    JsonNode byNew = searchByPhoto(replacement.bytes());
    assertThat(byNew.path("results").path(0).path("productId").asText()).isEqualTo(id);
    JsonNode byOld = searchByPhoto(original.bytes());
    for (JsonNode result : byOld.path("results")) {
      if (result.path("productId").asText().equals(id)) {
        assertThat(result.path("score").asDouble())
            .as("old photo's vector must be gone")
            .isLessThan(0.99);
      }
    }
  }

  @Test
  @Order(5)
  void shouldNotReEmbedAnUnchangedImage() throws Exception {
    Photo photo = photos.get(30);
    String id = productId(photo);
    double embeddedBefore = counter("lookalike.embedder.embedded");
    double unchangedBefore = counter("lookalike.fetcher.images", "outcome", "unchanged");

    publish(
        upsert(
            id,
            photo.category(),
            photo.path().toUri().toString())); // same photo, same metadata, new version
    producer.flush();

    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> counter("lookalike.fetcher.images", "outcome", "unchanged") > unchangedBefore);
    // A later, changed product flows through the same partitions; once it is indexed, the unchanged
    // one
    // has been handled too, and it must not have been embedded again.
    Photo marker = SampleImages.photos("validation", 2).get(1);
    publish(upsert("marker", marker.category(), marker.path().toUri().toString()));
    producer.flush();
    await().atMost(Duration.ofSeconds(60)).until(() -> isSearchable("marker"));
    assertThat(counter("lookalike.embedder.embedded")).isEqualTo(embeddedBefore + 1);
  }

  @Test
  @Order(6)
  void shouldMakeAProductPostedToTheWebhookSearchable() throws Exception {
    Photo photo = SampleImages.photos("validation", 3).get(2);
    HttpServer images =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    images.createContext(
        "/",
        exchange -> {
          byte[] body = photo.bytes();
          exchange.getResponseHeaders().add("Content-Type", "image/jpeg");
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    images.start();
    String url = "http://127.0.0.1:" + images.getAddress().getPort() + "/photo.jpg";
    String event =
        "{\"eventId\":\"wh-1\",\"type\":\"UPSERT\",\"productId\":\"via-webhook\",\"version\":1,"
            + "\"occurredAt\":\""
            + Instant.now()
            + "\",\"product\":{\"title\":\"Posted\",\"category\":\""
            + photo.category()
            + "\"},\"images\":[{\"imageId\":\"main\",\"url\":\""
            + url
            + "\"}]}";
    String secret = Files.readString(tmp.resolve("data").resolve("webhook.secret")).trim();

    HttpResponse<String> unauthorised = postEvent(event, "wrong");
    HttpResponse<String> accepted = postEvent(event, secret);

    assertThat(unauthorised.statusCode()).as(unauthorised.body()).isEqualTo(401);
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> isSearchable("via-webhook"));
    } finally {
      images.stop(0);
    }
    assertThat(searchByPhoto(photo.bytes()).path("results").path(0).path("productId").asText())
        .isEqualTo("via-webhook");
  }

  private HttpResponse<String> postEvent(String json, String secret)
      throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(gateway("/v1/events"))
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer " + secret)
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private boolean isSearchable(String productId) {
    try {
      return searchStatus(productId) == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private int searchStatus(String productId) throws IOException, InterruptedException {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(gateway("/v1/search"))
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"productId\": \"" + productId + "\", \"k\": 1}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return response.statusCode();
  }

  private JsonNode searchByPhoto(byte[] jpeg) throws IOException, InterruptedException {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(gateway("/v1/search?k=5"))
                .header("Content-Type", "image/jpeg")
                .POST(HttpRequest.BodyPublishers.ofByteArray(jpeg))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  private Map<String, String> deadLetterReasons(int expected) {
    Map<String, Object> props =
        Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            local.bootstrapServers(),
            ConsumerConfig.GROUP_ID_CONFIG,
            "dlq-check-" + UUID.randomUUID(),
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
            "earliest",
            ConsumerConfig.ISOLATION_LEVEL_CONFIG,
            "read_committed");
    Map<String, String> reasons = new HashMap<>();
    try (var consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(local.topics().deadLetters()));
      long deadline = System.currentTimeMillis() + 30_000;
      while (reasons.size() < expected && System.currentTimeMillis() < deadline) {
        for (var record : consumer.poll(Duration.ofMillis(500))) {
          String key = record.key() == null ? "" : new String(record.key(), StandardCharsets.UTF_8);
          reasons.put(
              key.contains("/") ? key.substring(0, key.lastIndexOf('/')) : key,
              DeadLetters.header(record.headers(), DeadLetters.REASON_CODE));
        }
      }
    }
    return reasons;
  }

  private double counter(String name, String... tags) {
    var counter = local.registry().find(name).tags(tags).counter();
    return counter == null ? 0 : counter.count();
  }

  private ProductEvent upsert(String productId, String category, String url) {
    long version = versions.merge(productId, 1L, Long::sum);
    return ProductEvent.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setType(EventType.UPSERT)
        .setProductId(productId)
        .setVersion(version)
        .setOccurredAt(Instant.now())
        .setProduct(
            ProductMetadata.newBuilder()
                .setTitle("Product " + productId)
                .setBrand("Acme")
                .setCategory(category)
                .build())
        .setImages(
            List.of(ImageRef.newBuilder().setImageId("main").setUrl(url).setPosition(0).build()))
        .build();
  }

  private void publish(ProductEvent event) throws Exception {
    producer
        .send(new ProducerRecord<>(local.topics().productEvents(), event.getProductId(), event))
        .get();
  }

  private String write(String name, byte[] bytes) throws IOException {
    Path file = tmp.resolve(name);
    Files.write(file, bytes);
    return file.toUri().toString();
  }

  private URI gateway(String path) {
    return URI.create("http://127.0.0.1:" + local.gatewayPort() + path);
  }

  private static String productId(Photo photo) {
    return "p-" + photo.id();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
