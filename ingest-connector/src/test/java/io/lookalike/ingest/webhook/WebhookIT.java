package io.lookalike.ingest.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import io.lookalike.testkit.KafkaBroker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The webhook over real HTTP (its standalone server on 127.0.0.1) against a real broker. */
class WebhookIT {

  private static final String SECRET = "s3cret-token";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static KafkaBroker broker;
  private static WebhookServer server;
  private static KafkaConsumer<String, byte[]> consumer;
  private static String url;

  @BeforeAll
  static void start() throws Exception {
    broker = KafkaBroker.start();
    broker.createTopics(1, "webhook.product-events", "webhook.hmac-events");
    WebhookConfig config =
        new WebhookConfig(
            Map.of(
                WebhookConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                WebhookConfig.SECRET_CONFIG, SECRET,
                WebhookConfig.HOST_CONFIG, "127.0.0.1",
                WebhookConfig.PORT_CONFIG, "0",
                WebhookConfig.TOPIC_CONFIG, "webhook.product-events"));
    server = new WebhookServer(config, new WebhookReceiver(config, new SimpleMeterRegistry()));
    url = "http://127.0.0.1:" + server.start() + WebhookServer.PATH;
    consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG,
                "webhook-it",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest"),
            new StringDeserializer(),
            new ByteArrayDeserializer());
    consumer.subscribe(List.of("webhook.product-events"));
  }

  @AfterAll
  static void stop() {
    if (consumer != null) {
      consumer.close();
    }
    if (server != null) {
      server.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void shouldProduceValidEventsOnceAndAnswerDuplicateDeliveriesWithoutProducingAgain()
      throws Exception {
    String batch = "[" + event("e1", "p1", 1) + "," + event("e2", "p2", 1) + "]";

    HttpResponse<String> first = post(batch, SECRET);
    assertThat(first.statusCode()).isEqualTo(202);
    assertThat(JSON.readTree(first.body()).get("accepted").asInt()).isEqualTo(2);
    // The read-your-writes token names both product versions
    assertThat(
            io.lookalike.schemas.ChangeToken.decode(
                    JSON.readTree(first.body()).get("token").asText())
                .changes())
        .hasSize(2);

    HttpResponse<String> retried = post(batch, SECRET);
    assertThat(retried.statusCode()).isEqualTo(202);
    assertThat(JSON.readTree(retried.body()).get("duplicates").asInt()).isEqualTo(2);
    HttpResponse<String> single = post(event("e3", "p1", 2), SECRET);
    assertThat(single.statusCode()).isEqualTo(202);

    // Every 202 came after the broker's acknowledgement, so everything produced is below the end
    // offset.
    List<ConsumerRecord<String, byte[]>> records = readToEnd();
    assertThat(records).extracting(ConsumerRecord::key).containsExactly("p1", "p2", "p1");
    ProductEvent e1 = Serdes.productEvent().deserialize(records.get(0).value());
    assertThat(e1.getEventId()).isEqualTo("e1");
    assertThat(e1.getImages().get(0).getUrl()).isEqualTo("https://cdn.example.com/p1.jpg");
    assertThat(e1.getProduct().getPrice().getCurrency()).isEqualTo("EUR");
  }

  @Test
  void shouldAnswer400WithEveryFieldErrorAndProduceNothing() throws Exception {
    String invalid =
        "["
            + event("e10", "p10", 1)
            + ","
            + "{\"eventId\":\"e11\",\"type\":\"UPSERT\",\"version\":-1,\"product\":{\"price\":{\"amount\":\"x\"}},"
            + "\"images\":[{\"imageId\":\"a/b\",\"url\":\"ftp://x/y.jpg\"}]}]";

    HttpResponse<String> response = post(invalid, SECRET);

    assertThat(response.statusCode()).isEqualTo(400);
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.get("code").asText()).isEqualTo("invalid_event");
    List<String> fields = new ArrayList<>();
    body.get("fields").forEach(f -> fields.add(f.get("field").asText()));
    assertThat(fields)
        .containsExactlyInAnyOrder(
            "[1].productId",
            "[1].version",
            "[1].product.price.amount",
            "[1].product.price.currency",
            "[1].images[0].imageId",
            "[1].images[0].url");
    assertThat(readToEnd()).isEmpty();
  }

  @Test
  void shouldRefuseWrongOrMissingSecret() throws Exception {
    assertThat(post(event("e20", "p20", 1), "wrong").statusCode()).isEqualTo(401);
    assertThat(post(event("e20", "p20", 1), null).statusCode()).isEqualTo(401);
    assertThat(readToEnd()).isEmpty();
  }

  @Test
  void shouldRefuseWebPagesAndBodiesThatAreNotJsonEvenWithTheSecret() throws Exception {
    // A page's form or no-cors fetch can send text/plain or no type without a preflight; a browser
    // names its Origin.
    HttpResponse<String> plain =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(url))
                .header("Content-Type", "text/plain")
                .header("Authorization", "Bearer " + SECRET)
                .POST(HttpRequest.BodyPublishers.ofString(event("e30", "p30", 1)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> untyped =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + SECRET)
                .POST(HttpRequest.BodyPublishers.ofString(event("e31", "p31", 1)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> crossOrigin =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(url))
                .header("Content-Type", "application/json")
                .header("Origin", "https://evil.example")
                .header("Authorization", "Bearer " + SECRET)
                .POST(HttpRequest.BodyPublishers.ofString(event("e32", "p32", 1)))
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(plain.statusCode()).isEqualTo(415);
    assertThat(JSON.readTree(plain.body()).get("code").asText()).isEqualTo("unsupported_type");
    assertThat(untyped.statusCode()).isEqualTo(415);
    assertThat(crossOrigin.statusCode()).isEqualTo(403);
    assertThat(JSON.readTree(crossOrigin.body()).get("code").asText()).isEqualTo("cross_origin");
    assertThat(readToEnd()).isEmpty();
  }

  @Test
  void shouldCheckHmacSignature() {
    WebhookConfig config =
        new WebhookConfig(
            Map.of(
                WebhookConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers(),
                WebhookConfig.AUTH_CONFIG,
                "hmac",
                WebhookConfig.SECRET_CONFIG,
                SECRET,
                WebhookConfig.TOPIC_CONFIG,
                "webhook.hmac-events"));
    try (WebhookReceiver receiver = new WebhookReceiver(config, new SimpleMeterRegistry())) {
      byte[] body = event("e30", "p30", 1).getBytes(StandardCharsets.UTF_8);
      String good =
          "sha256="
              + HexFormat.of()
                  .formatHex(WebhookReceiver.hmac(SECRET.getBytes(StandardCharsets.UTF_8), body));
      String bad =
          "sha256="
              + HexFormat.of()
                  .formatHex(WebhookReceiver.hmac("other".getBytes(StandardCharsets.UTF_8), body));

      assertThat(
              receiver
                  .handle(
                      body,
                      Map.of("Content-Type", "application/json", "X-Lookalike-Signature", bad))
                  .status())
          .isEqualTo(401);
      assertThat(
              receiver
                  .handle(
                      body,
                      Map.of(
                          "content-type", "application/json", "x-lookalike-signature", "sha256=zz"))
                  .status())
          .isEqualTo(401);
      assertThat(receiver.handle(body, Map.of("Content-Type", "application/json")).status())
          .isEqualTo(401);
      assertThat(
              receiver
                  .handle(
                      body,
                      Map.of(
                          "Content-Type",
                          "application/json; charset=utf-8",
                          "X-Lookalike-Signature",
                          good))
                  .status())
          .isEqualTo(202);
    }
  }

  @Test
  void shouldAnswer503AndAcknowledgeNothingWhenBrokerIsDown() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    WebhookConfig config =
        new WebhookConfig(
            Map.of(
                WebhookConfig.BOOTSTRAP_SERVERS_CONFIG,
                "127.0.0.1:" + closedPort,
                WebhookConfig.SECRET_CONFIG,
                SECRET,
                WebhookConfig.ACK_TIMEOUT_MS_CONFIG,
                "2000"));
    try (WebhookReceiver receiver = new WebhookReceiver(config, new SimpleMeterRegistry())) {
      byte[] body = event("e40", "p40", 1).getBytes(StandardCharsets.UTF_8);
      WebhookReceiver.Response response =
          receiver.handle(
              body,
              Map.of("Content-Type", "application/json", "Authorization", "Bearer " + SECRET));
      assertThat(response.status()).isEqualTo(503);
      assertThat(response.headers()).containsKey("Retry-After");
      // Not remembered as acknowledged: the retry is tried again, not waved through as a duplicate
      assertThat(
              receiver
                  .handle(
                      body,
                      Map.of(
                          "Content-Type", "application/json", "Authorization", "Bearer " + SECRET))
                  .status())
          .isEqualTo(503);
    }
  }

  static String event(String eventId, String productId, int version) {
    return "{\"eventId\":\""
        + eventId
        + "\",\"type\":\"UPSERT\",\"productId\":\""
        + productId
        + "\",\"version\":"
        + version
        + ",\"occurredAt\":\"2026-01-02T03:04:05Z\",\"product\":{\"title\":\"Red dress\","
        + "\"price\":{\"amount\":49.9,\"currency\":\"eur\"},\"availability\":\"in stock\",\"attributes\":{\"colour\":\"red\"}},"
        + "\"images\":[{\"imageId\":\"front\",\"url\":\"https://cdn.example.com/"
        + productId
        + ".jpg\"}]}";
  }

  private static HttpResponse<String> post(String body, String secret) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (secret != null) {
      request.header("Authorization", "Bearer " + secret);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Everything the topic holds now that this test has not read yet: polls up to the end offsets.
   */
  private static List<ConsumerRecord<String, byte[]>> readToEnd() {
    List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              consumer.poll(Duration.ofMillis(100)).forEach(out::add);
              var assignment = consumer.assignment();
              return !assignment.isEmpty()
                  && consumer.endOffsets(assignment).entrySet().stream()
                      .allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
            });
    return out;
  }
}
