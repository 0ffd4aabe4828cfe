package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.ingest.webhook.WebhookConfig;
import io.lookalike.ingest.webhook.WebhookReceiver;
import io.lookalike.ingest.webhook.WebhookServer;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.lookalike.testkit.ApicurioRegistry;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.TcpProxy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Confluent wire format against a real Confluent-compatible schema registry (Apicurio Registry,
 * started by the testkit in a child JVM) and a real broker: TopicNameStrategy subjects, the
 * registry's BACKWARD check on a newer {@code ProductEvent}, an incompatible schema refused, and
 * the webhook's and a newer producer's Confluent-framed events fetched by the fetcher.
 */
class SchemaRegistryIT {

  private static final Topics TOPICS = Topics.defaults();
  private static final List<SampleImages.Photo> PHOTOS = SampleImages.photos("validation", 2);
  private static final ObjectMapper JSON = new ObjectMapper();

  private static ApicurioRegistry registry;
  private static KafkaBroker broker;

  @TempDir static Path dir;

  @BeforeAll
  static void start() {
    registry = ApicurioRegistry.start(Path.of("target", "apicurio-registry-SchemaRegistryIT.log"));
    broker = KafkaBroker.start();
    broker.createTopics(2, TOPICS.productEvents(), TOPICS.deadLetters());
    broker.createCompactedTopics(2, TOPICS.productImages());
  }

  @AfterAll
  static void stop() {
    if (broker != null) {
      broker.close();
    }
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void shouldRegisterUnderTheTopicNameAndPassTheBackwardCheckForAnAddedOptionalField()
      throws Exception {
    // Given the writer of topic compat.events on the Confluent format, its subject on BACKWARD
    SchemaRegistryClient client = client();
    client.setCompatibility("compat.events-value", "BACKWARD");
    ProductEventEncoder encoder = ProductEventEncoder.from(confluent(), "compat.events");

    // When it writes an event
    byte[] framed = encoder.encode(event("p1", "file:/unused.jpg"));

    // Then ProductEvent is registered under <topic>-value and the record names its id
    int id = ConfluentWireFormat.schemaId(framed);
    assertThat(client().schemaById(id)).isEqualTo(ProductEvent.getClassSchema());
    assertThat(client.register("compat.events-value", ProductEvent.getClassSchema())).isEqualTo(id);
    assertThat(new ProductEventDecoder(client()).decode(framed, 0).getProductId()).isEqualTo("p1");

    // And a newer ProductEvent with an added optional field passes the registry's BACKWARD check
    Schema newer = withSourceSystem();
    assertThat(client.testCompatibility("compat.events-value", newer).compatible()).isTrue();
    assertThat(client.register("compat.events-value", newer)).isNotEqualTo(id);

    // But a ProductEvent whose version became a string does not, and registering it is refused
    Schema incompatible = withStringVersion();
    assertThat(client.testCompatibility("compat.events-value", incompatible).compatible())
        .isFalse();
    assertThatThrownBy(() -> client.register("compat.events-value", incompatible))
        .isInstanceOfSatisfying(
            SchemaRegistryClient.RegistryException.class,
            e -> assertThat(e.status()).isEqualTo(409))
        .hasMessageContaining("compat.events-value")
        .hasMessageContaining("incompatible");
  }

  @Test
  void shouldFailTheWriteWithTheRegistrysReasonWhenItRefusesProductEvent() throws Exception {
    // Given topic refused.events whose subject holds an older schema that ProductEvent cannot read
    SchemaRegistryClient client = client();
    client.register("refused.events-value", withStringVersion());
    client.setCompatibility("refused.events-value", "BACKWARD");
    ProductEventEncoder encoder = ProductEventEncoder.from(confluent(), "refused.events");

    // When a writer on the Confluent format writes an event, it fails naming subject and reason
    assertThatThrownBy(() -> encoder.encode(event("p1", "file:/unused.jpg")))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("refused.events-value")
        .hasMessageContaining("409")
        .hasMessageContaining("version");
  }

  @Test
  void shouldFetchTheWebhooksAndANewerProducersConfluentFramedEventsThroughTheRegistry()
      throws Exception {
    String subject = TOPICS.productEvents() + "-value";
    client().setCompatibility(subject, "BACKWARD");

    // Given the webhook writing the Confluent format to catalog.product-events
    WebhookConfig webhookConfig =
        new WebhookConfig(
            Map.of(
                WebhookConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                WebhookConfig.SECRET_CONFIG, "s3cret-s3cret-s3cret",
                WebhookConfig.HOST_CONFIG, "127.0.0.1",
                WebhookConfig.PORT_CONFIG, "0",
                WebhookConfig.TOPIC_CONFIG, TOPICS.productEvents(),
                WebhookConfig.ALLOW_FILE_URLS_CONFIG, "true",
                SchemaRegistryConfig.URL_CONFIG, registry.url(),
                SchemaRegistryConfig.VALUE_FORMAT_CONFIG, "confluent"));
    String photo0 = PHOTOS.get(0).path().toUri().toString();
    String photo1 = PHOTOS.get(1).path().toUri().toString();
    try (WebhookServer webhook =
            new WebhookServer(
                webhookConfig, new WebhookReceiver(webhookConfig, new SimpleMeterRegistry()));
        KafkaProducer<String, byte[]> newerProducer =
            new KafkaProducer<>(
                Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                new StringSerializer(),
                new ByteArraySerializer())) {
      int port = webhook.start();

      // When the webhook takes an event for p1
      HttpResponse<String> answer =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + port + WebhookServer.PATH))
                      .header("Content-Type", "application/json")
                      .header("Authorization", "Bearer s3cret-s3cret-s3cret")
                      .POST(
                          HttpRequest.BodyPublishers.ofString(
                              "{\"eventId\":\"w1\",\"type\":\"UPSERT\",\"productId\":\"p1\",\"version\":1,"
                                  + "\"product\":{\"title\":\"Red dress\"},"
                                  + "\"images\":[{\"imageId\":\"front\",\"url\":\""
                                  + photo0
                                  + "\"}]}"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(answer.statusCode()).as(answer.body()).isEqualTo(202);

      // And a producer on a newer ProductEvent (an added optional field) registers it and writes p2
      Schema newer = withSourceSystem();
      int newerId = client().register(subject, newer);
      newerProducer
          .send(
              new ProducerRecord<>(
                  TOPICS.productEvents(), "p2", newerFramed(newerId, event("p2", photo1), newer)))
          .get();

      // Then the fetcher, reading both through the registry, publishes both photos
      Map<String, Object> config = new HashMap<>();
      config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
      config.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
      config.put(FetcherConfig.FETCH_ALLOW_FILE_CONFIG, true);
      config.put(SchemaRegistryConfig.URL_CONFIG, registry.url());
      Map<String, ProductImage> latest = new HashMap<>();
      List<ConsumerRecord<String, byte[]>> raw = new ArrayList<>();
      try (FetcherApp app = new FetcherApp(config, new SimpleMeterRegistry());
          KafkaConsumer<String, byte[]> images = consumer(TOPICS.productImages());
          KafkaConsumer<String, byte[]> events = consumer(TOPICS.productEvents())) {
        app.start();
        await()
            .atMost(Duration.ofSeconds(90))
            .untilAsserted(
                () -> {
                  images
                      .poll(Duration.ofMillis(200))
                      .forEach(
                          r -> latest.put(r.key(), Serdes.productImage().deserialize(r.value())));
                  events.poll(Duration.ofMillis(100)).forEach(raw::add);
                  assertThat(latest).containsOnlyKeys("p1/front", "p2/front");
                  assertThat(raw).hasSize(2);
                });
      }
      assertThat(latest.get("p1/front").getSha256())
          .isEqualTo(ImageNormaliser.sha256(PHOTOS.get(0).bytes()));
      assertThat(latest.get("p2/front").getSha256())
          .isEqualTo(ImageNormaliser.sha256(PHOTOS.get(1).bytes()));
      // The webhook wrote the Confluent format with ProductEvent's id under the topic's subject
      byte[] fromWebhook =
          raw.stream().filter(r -> r.key().equals("p1")).findFirst().orElseThrow().value();
      assertThat(ConfluentWireFormat.schemaId(fromWebhook))
          .isEqualTo(client().register(subject, ProductEvent.getClassSchema()))
          .isNotEqualTo(newerId);
    }
  }

  @Test
  void shouldAnswer503AndWriteNothingWhileTheRegistryIsUnreachableAnd202OnceItIsBack()
      throws Exception {
    // Given the webhook on the Confluent format, its registry behind a proxy that is cut
    String topic = "outage.events";
    broker.createTopics(1, topic);
    URI direct = URI.create(registry.url());
    try (TcpProxy proxy = TcpProxy.to(direct.getPort())) {
      proxy.cut();
      WebhookConfig webhookConfig =
          new WebhookConfig(
              Map.of(
                  WebhookConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                  WebhookConfig.SECRET_CONFIG, "s3cret-s3cret-s3cret",
                  WebhookConfig.HOST_CONFIG, "127.0.0.1",
                  WebhookConfig.PORT_CONFIG, "0",
                  WebhookConfig.TOPIC_CONFIG, topic,
                  WebhookConfig.ALLOW_FILE_URLS_CONFIG, "true",
                  SchemaRegistryConfig.URL_CONFIG,
                      "http://127.0.0.1:" + proxy.port() + direct.getPath(),
                  SchemaRegistryConfig.VALUE_FORMAT_CONFIG, "confluent"));
      SimpleMeterRegistry meters = new SimpleMeterRegistry();
      try (WebhookServer webhook =
              new WebhookServer(webhookConfig, new WebhookReceiver(webhookConfig, meters));
          KafkaConsumer<String, byte[]> events = consumer(topic)) {
        int port = webhook.start();
        String body =
            "{\"eventId\":\"o1\",\"type\":\"UPSERT\",\"productId\":\"p9\",\"version\":1,"
                + "\"product\":{\"title\":\"Blue coat\"},"
                + "\"images\":[{\"imageId\":\"front\",\"url\":\"file:/unused.jpg\"}]}";

        // When an event arrives while the registry cannot be reached
        int refusedBefore = proxy.refused();
        HttpResponse<String> during = post(port, body);

        // Then the client is told to retry, the registry was asked, and nothing is written
        assertThat(during.statusCode()).as(during.body()).isEqualTo(503);
        assertThat(during.headers().firstValue("Retry-After")).hasValue("5");
        assertThat(JSON.readTree(during.body()).get("code").asText()).isEqualTo("unavailable");
        assertThat(during.body()).contains("schema registry");
        assertThat(proxy.refused()).isGreaterThan(refusedBefore);
        assertThat(meters.counter("lookalike.webhook.events", "outcome", "unavailable").count())
            .isEqualTo(1.0);

        // When the registry is back and the client retries the same event
        proxy.restore();
        HttpResponse<String> after = post(port, body);

        // Then it is accepted (not taken for a duplicate), and it is the one record on the topic
        assertThat(after.statusCode()).as(after.body()).isEqualTo(202);
        assertThat(JSON.readTree(after.body()).get("accepted").asInt()).isEqualTo(1);
        List<ConsumerRecord<String, byte[]>> written = new ArrayList<>();
        await()
            .atMost(Duration.ofSeconds(30))
            .untilAsserted(
                () -> {
                  events.poll(Duration.ofMillis(200)).forEach(written::add);
                  assertThat(written).hasSize(1);
                });
        // a last poll: the 503 wrote nothing that could arrive late
        events.poll(Duration.ofMillis(500)).forEach(written::add);
        assertThat(written).hasSize(1);
        assertThat(ConfluentWireFormat.schemaId(written.get(0).value()))
            .isEqualTo(client().register(topic + "-value", ProductEvent.getClassSchema()));
        assertThat(new ProductEventDecoder(client()).decode(written.get(0).value(), 0).getEventId())
            .isEqualTo("o1");
      }
    }
  }

  private static HttpResponse<String> post(int port, String body) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + WebhookServer.PATH))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer s3cret-s3cret-s3cret")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  private static SchemaRegistryClient client() {
    return new SchemaRegistryClient(registry.url(), "", null, Duration.ofSeconds(30));
  }

  private static SchemaRegistryConfig confluent() {
    return new SchemaRegistryConfig(
        Map.of(
            SchemaRegistryConfig.URL_CONFIG,
            registry.url(),
            SchemaRegistryConfig.VALUE_FORMAT_CONFIG,
            "confluent"));
  }

  private static ProductEvent event(String productId, String url) {
    return ProductEvent.newBuilder()
        .setEventId("e-" + productId)
        .setType(EventType.UPSERT)
        .setProductId(productId)
        .setVersion(1)
        .setOccurredAt(Instant.parse("2026-01-02T03:04:05Z"))
        .setProduct(ProductMetadata.newBuilder().setTitle("Dress " + productId).build())
        .setImages(List.of(ImageRef.newBuilder().setImageId("front").setUrl(url).build()))
        .build();
  }

  /** ProductEvent with an added optional field {@code sourceSystem}, as a newer producer has it. */
  private static Schema withSourceSystem() throws IOException {
    ObjectNode schema = (ObjectNode) JSON.readTree(ProductEvent.getClassSchema().toString());
    ObjectNode added = ((ArrayNode) schema.get("fields")).addObject();
    added.put("name", "sourceSystem");
    added.putArray("type").add("null").add("string");
    added.putNull("default");
    return new Schema.Parser().parse(schema.toString());
  }

  /** ProductEvent whose {@code version} is a string: not readable as the long it is now. */
  private static Schema withStringVersion() throws IOException {
    ObjectNode schema = (ObjectNode) JSON.readTree(ProductEvent.getClassSchema().toString());
    schema
        .get("fields")
        .forEach(
            f -> {
              if (f.get("name").asText().equals("version")) {
                ((ObjectNode) f).put("type", "string");
              }
            });
    return new Schema.Parser().parse(schema.toString());
  }

  /**
   * What a producer built on the newer schema writes: 00, its schema id, the event with a source
   * system.
   */
  private static byte[] newerFramed(int schemaId, ProductEvent event, Schema newer)
      throws IOException {
    byte[] current = Serdes.productEvent().serialize(event); // single-object: C3 01 + 8 + datum
    GenericRecord record =
        new GenericDatumReader<GenericRecord>(ProductEvent.getClassSchema(), newer)
            .read(null, DecoderFactory.get().binaryDecoder(current, 10, current.length - 10, null));
    record.put("sourceSystem", "pim-2");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0);
    out.writeBytes(ByteBuffer.allocate(4).putInt(schemaId).array());
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(newer).write(record, encoder);
    encoder.flush();
    return out.toByteArray();
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
