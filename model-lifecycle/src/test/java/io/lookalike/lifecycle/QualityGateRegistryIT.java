package io.lookalike.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.lookalike.schemas.registry.RegistryUnavailableException;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.store.StoredImage;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.lookalike.testkit.ApicurioRegistry;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.TcpProxy;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quality gate's sample against a real broker and a real schema registry (Apicurio, behind a
 * loopback proxy the test cuts): while the registry cannot be reached the gate refuses, naming the
 * registry, rather than checking fewer photos than asked; once it is back the whole sample is read.
 */
class QualityGateRegistryIT {

  private static final String TOPIC = "gate.product-images";

  @TempDir Path dir;

  @Test
  void shouldRefuseRatherThanSampleFewerPhotosWhileTheRegistryIsUnreachable() throws Exception {
    try (ApicurioRegistry registry =
            ApicurioRegistry.start(
                Path.of("target", "apicurio-registry-QualityGateRegistryIT.log"));
        KafkaBroker broker = KafkaBroker.start();
        TcpProxy proxy = TcpProxy.to(URI.create(registry.url()).getPort());
        LuceneVectorStore indexed = LuceneVectorStore.open(dir.resolve("index"), "m", 2);
        KafkaProducer<String, byte[]> producer =
            new KafkaProducer<>(
                Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                new StringSerializer(),
                new ByteArraySerializer())) {
      // Given three indexed photos on product-images, Confluent-framed under a registered id
      broker.createCompactedTopics(2, TOPIC);
      int id =
          new SchemaRegistryClient(registry.url(), "", null, Duration.ofSeconds(30))
              .register(TOPIC + "-value", ProductImage.getClassSchema());
      for (String p : List.of("p1", "p2", "p3")) {
        producer
            .send(
                new ProducerRecord<>(TOPIC, p + "/front", ConfluentWireFormat.encode(id, image(p))))
            .get();
        indexed.write(List.of(stored(p)), List.of());
      }
      indexed.flush();
      // (the gate's own client, through the proxy: it has seen no id yet)
      String viaProxy = "http://127.0.0.1:" + proxy.port() + URI.create(registry.url()).getPath();

      // When the gate samples while the registry cannot be reached
      proxy.cut();
      int refusedBefore = proxy.refused();

      // Then it refuses, naming the registry, and checks no smaller sample
      assertThatThrownBy(
              () ->
                  QualityGate.sampleLiveImages(
                      broker.bootstrapServers(), TOPIC, indexed, 3, 42, client(viaProxy)))
          .isInstanceOf(RegistryUnavailableException.class)
          .hasMessageContaining("schema id " + id)
          .hasMessageContaining("schema registry");
      assertThat(proxy.refused()).isGreaterThanOrEqualTo(refusedBefore + 3);

      // And once the registry is back, the whole sample is read
      proxy.restore();
      List<ProductImage> sample =
          QualityGate.sampleLiveImages(
              broker.bootstrapServers(), TOPIC, indexed, 3, 42, client(viaProxy));
      assertThat(sample)
          .extracting(i -> i.getProductId().toString())
          .containsExactlyInAnyOrder("p1", "p2", "p3");
    }
  }

  private static SchemaRegistryClient client(String url) {
    return new SchemaRegistryClient(url, "", null, Duration.ofSeconds(5));
  }

  private static ProductImage image(String productId) {
    byte[] bytes = {1, 2, 3};
    return ProductImage.newBuilder()
        .setProductId(productId)
        .setImageId("front")
        .setVersion(1)
        .setOccurredAt(Instant.parse("2026-01-02T03:04:05Z"))
        .setSourceUrl("file:/unused.jpg")
        .setPosition(0)
        .setSha256("sha-" + productId)
        .setMediaType("image/jpeg")
        .setSizeBytes(bytes.length)
        .setWidth(1)
        .setHeight(1)
        .setBytes(ByteBuffer.wrap(bytes))
        .setBytesRef(null)
        .setProduct(ProductMetadata.newBuilder().setTitle("Dress " + productId).build())
        .build();
  }

  private static StoredImage stored(String productId) {
    return new StoredImage(
        new ImageKey(productId, "front"),
        new float[] {0.6f, 0.8f},
        1,
        "sha-" + productId,
        0,
        "file:/unused.jpg",
        1_700_000_000_000L,
        1_700_000_001_000L,
        "Dress " + productId,
        null,
        null,
        null,
        null,
        null,
        Map.of());
  }
}
