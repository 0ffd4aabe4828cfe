package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.testkit.ApicurioRegistry;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.TcpProxy;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole pipeline (loader's encoder → fetcher → embedder → sink, the local mode's real model and
 * Lucene index) on the Confluent wire format with a real schema registry (Apicurio, reached through
 * a loopback proxy the test can cut): every Avro topic carries registry ids, the registry holds
 * {@code <topic>-value} for each, single-object and Confluent records on one topic are both read,
 * and a registry cut mid-run loses and dead-letters nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RegistryPipelineIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  private ApicurioRegistry registry;
  private TcpProxy proxy;
  private String registryUrl;
  private LocalMode local;
  private KafkaProducer<String, byte[]> producer;
  private final List<SampleImages.Photo> photos = SampleImages.photos("test", 6);

  @BeforeAll
  void start(@TempDir Path tmp) throws Exception {
    registry =
        ApicurioRegistry.start(Path.of("target", "apicurio-registry-RegistryPipelineIT.log"));
    URI direct = URI.create(registry.url());
    proxy = TcpProxy.to(direct.getPort());
    registryUrl = "http://127.0.0.1:" + proxy.port() + direct.getPath();
    local =
        new LocalMode(
                new LocalMode.Options(
                    tmp.resolve("data"),
                    "127.0.0.1",
                    freePort(),
                    freePort(),
                    0,
                    "127.0.0.1",
                    null,
                    2,
                    false,
                    Map.of("schema.registry.url", registryUrl, "value.format", "confluent")))
            .start();
    producer =
        new KafkaProducer<>(
            Map.of("bootstrap.servers", local.bootstrapServers()),
            new StringSerializer(),
            new ByteArraySerializer());
  }

  @AfterAll
  void stop() {
    if (producer != null) {
      producer.close();
    }
    if (local != null) {
      local.close();
    }
    if (proxy != null) {
      proxy.close();
    }
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  @Order(1)
  void shouldIndexConfluentEventsWithEveryAvroTopicOnTheRegistryAndSingleObjectOnesBeside()
      throws Exception {
    // Given one product event in the Confluent format and one in single-object encoding
    SchemaRegistryClient client = client();
    int eventId =
        client.register(local.topics().productEvents() + "-value", ProductEvent.getClassSchema());
    publish(ConfluentWireFormat.encode(eventId, upsert("confluent-1", photos.get(0))));
    publish(Serdes.productEvent().serialize(upsert("single-1", photos.get(1))));

    // Then both become searchable
    awaitIndexed("confluent-1");
    awaitIndexed("single-1");

    // And the fetcher and the embedder wrote the Confluent format, under <topic>-value subjects
    String embeddings = local.topics().embeddings(local.embedder().model().modelId());
    assertThat(subjects())
        .contains(
            local.topics().productEvents() + "-value",
            local.topics().productImages() + "-value",
            embeddings + "-value");
    assertThat(readAll(local.topics().productImages()))
        .isNotEmpty()
        .allSatisfy(r -> assertThat(r.value()[0]).as("magic byte").isZero());
    assertThat(readAll(embeddings))
        .isNotEmpty()
        .allSatisfy(r -> assertThat(r.value()[0]).as("magic byte").isZero());
    assertThat(deadLetterKeys()).isEmpty();
  }

  @Test
  @Order(2)
  void shouldEmbedASingleObjectProductImageBesideTheFetchersConfluentOnes() throws Exception {
    // Given a product image in single-object encoding on the topic the fetcher writes Confluent to
    ConsumerRecord<byte[], byte[]> written = readAll(local.topics().productImages()).get(0);
    ProductImage image = Serdes.productImageReader(client()).deserialize(written.value());
    image.setProductId("single-image");
    producer
        .send(
            new ProducerRecord<>(
                local.topics().productImages(),
                "single-image/" + image.getImageId(),
                Serdes.productImage().serialize(image)))
        .get();

    // Then the embedder reads it too, and the sink indexes it
    await()
        .atMost(Duration.ofMinutes(2))
        .until(
            () -> local.store().get(new ImageKey("single-image", image.getImageId())).isPresent());
    assertThat(deadLetterKeys()).isEmpty();
  }

  @Test
  @Order(3)
  void shouldWaitForTheRegistryRatherThanDeadLetterWhenItIsUnreachable() throws Exception {
    // Given a producer on a newer ProductEvent (an added optional field), registered while the
    // registry answers: an id the fetcher has not seen
    int newerId = client().register(local.topics().productEvents() + "-value", withSourceSystem());
    ByteArrayOutputStream framed = new ByteArrayOutputStream();
    framed.writeBytes(ConfluentWireFormat.encode(newerId, upsert("during-outage", photos.get(2))));
    framed.write(0); // sourceSystem: null (union branch 0), the newer schema's last field

    // When the registry becomes unreachable and the event is published
    proxy.cut();
    int refusedBefore = proxy.refused();
    publish(framed.toByteArray());

    // Then the fetcher keeps asking (it does not give up and dead-letter the event) ...
    await().atMost(Duration.ofMinutes(2)).until(() -> proxy.refused() >= refusedBefore + 6);
    assertThat(local.store().get(new ImageKey("during-outage", "main"))).isEmpty();
    assertThat(deadLetterKeys()).isEmpty();

    // ... and once the registry is back, the event is indexed, nothing dead-lettered
    proxy.restore();
    awaitIndexed("during-outage");
    assertThat(deadLetterKeys()).isEmpty();
    assertThat(local.store().get(new ImageKey("confluent-1", "main"))).isPresent();
  }

  private void awaitIndexed(String productId) {
    await()
        .atMost(Duration.ofMinutes(3))
        .pollInterval(Duration.ofMillis(300))
        .until(() -> local.store().get(new ImageKey(productId, "main")).isPresent());
  }

  private SchemaRegistryClient client() {
    return new SchemaRegistryClient(registry.url(), "", null, Duration.ofSeconds(30));
  }

  private List<String> subjects() throws Exception {
    HttpResponse<String> answer =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(registry.url() + "/subjects")).build(),
                HttpResponse.BodyHandlers.ofString());
    List<String> out = new ArrayList<>();
    JSON.readTree(answer.body()).forEach(s -> out.add(s.asText()));
    return out;
  }

  private void publish(byte[] value) throws Exception {
    producer.send(new ProducerRecord<>(local.topics().productEvents(), null, value)).get();
  }

  private static ProductEvent upsert(String productId, SampleImages.Photo photo) {
    return ProductEvent.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setType(EventType.UPSERT)
        .setProductId(productId)
        .setVersion(1)
        .setOccurredAt(Instant.now())
        .setProduct(
            ProductMetadata.newBuilder()
                .setTitle("Product " + productId)
                .setBrand("Acme")
                .setCategory(photo.category())
                .build())
        .setImages(
            List.of(
                ImageRef.newBuilder()
                    .setImageId("main")
                    .setUrl(photo.path().toUri().toString())
                    .setPosition(0)
                    .build()))
        .build();
  }

  private static Schema withSourceSystem() throws Exception {
    ObjectNode schema = (ObjectNode) JSON.readTree(ProductEvent.getClassSchema().toString());
    ObjectNode added = ((ArrayNode) schema.get("fields")).addObject();
    added.put("name", "sourceSystem");
    added.putArray("type").add("null").add("string");
    added.putNull("default");
    return new Schema.Parser().parse(schema.toString());
  }

  /** Keys (and reason codes) of every committed dead letter. */
  private List<String> deadLetterKeys() {
    List<String> out = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : readAll(local.topics().deadLetters())) {
      out.add(
          (r.key() == null ? "" : new String(r.key(), StandardCharsets.UTF_8))
              + ": "
              + DeadLetters.header(r.headers(), DeadLetters.REASON));
    }
    return out;
  }

  private List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                local.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed"),
            new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
      long deadline = System.currentTimeMillis() + 30_000;
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))
          && System.currentTimeMillis() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      return out;
    }
  }

  private static int freePort() throws Exception {
    try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
