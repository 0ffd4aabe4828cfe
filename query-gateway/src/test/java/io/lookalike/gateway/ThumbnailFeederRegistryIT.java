package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.lookalike.testkit.ApicurioRegistry;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.TcpProxy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The gateway's thumbnail feeder against a real broker and a real schema registry (Apicurio, behind
 * a loopback proxy the test cuts): a Confluent-framed image whose schema id the feeder has not seen
 * while the registry is unreachable is read again, not skipped, and served once the registry is
 * back; an id the registry does not know is logged naming the id and counted.
 */
class ThumbnailFeederRegistryIT {

  private static final String TOPIC = "feeder.product-images";

  @TempDir Path dir;

  @Test
  void shouldRetryAnUnseenSchemaIdThroughAnOutageAndNameAnUnknownOne() throws Exception {
    SampleImages.Photo photo = SampleImages.photos("validation", 1).get(0);
    byte[] jpeg = photo.bytes();
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    Logger feederLog = (Logger) LoggerFactory.getLogger(ThumbnailFeeder.class);
    feederLog.addAppender(logs);
    try (ApicurioRegistry registry =
            ApicurioRegistry.start(
                Path.of("target", "apicurio-registry-ThumbnailFeederRegistryIT.log"));
        KafkaBroker broker = KafkaBroker.start();
        TcpProxy proxy = TcpProxy.to(URI.create(registry.url()).getPort());
        KafkaProducer<String, byte[]> producer =
            new KafkaProducer<>(
                Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                new StringSerializer(),
                new ByteArraySerializer())) {
      broker.createCompactedTopics(1, TOPIC);
      // Given ProductImage registered (directly, not through the proxy) and the registry cut
      int id =
          new SchemaRegistryClient(registry.url(), "", null, Duration.ofSeconds(30))
              .register(TOPIC + "-value", ProductImage.getClassSchema());
      proxy.cut();
      SimpleMeterRegistry meters = new SimpleMeterRegistry();
      Thumbnails thumbnails = new Thumbnails(dir.resolve("thumbnails"));
      String viaProxy = "http://127.0.0.1:" + proxy.port() + URI.create(registry.url()).getPath();
      try (ThumbnailFeeder feeder =
          new ThumbnailFeeder(
                  Map.of(
                      ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                      broker.bootstrapServers(),
                      SchemaRegistryConfig.URL_CONFIG,
                      viaProxy),
                  TOPIC,
                  thumbnails,
                  meters)
              .start()) {
        // When an image framed with that id (unseen by the feeder) arrives during the outage
        int refusedBefore = proxy.refused();
        producer
            .send(
                new ProducerRecord<>(
                    TOPIC, "p1/front", ConfluentWireFormat.encode(id, image("p1", jpeg))))
            .get();

        // Then the feeder keeps asking (two rounds of 3 tries at least), and skips nothing
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    proxy.refused() >= refusedBefore + 6
                        && meters.counter("lookalike.gateway.thumbnails.registry.retries").count()
                            >= 2);
        assertThat(thumbnails.get(new ImageKey("p1", "front"))).isEmpty();
        assertThat(meters.counter("lookalike.gateway.thumbnails.skipped", "reason", "avro").count())
            .isZero();

        // When the registry is back, and an image framed with an id it does not know arrives
        proxy.restore();
        producer
            .send(
                new ProducerRecord<>(
                    TOPIC, "p2/front", ConfluentWireFormat.encode(987654, image("p2", jpeg))))
            .get();

        // Then the first image's thumbnail is served, and the unknown id is counted and named
        await()
            .atMost(Duration.ofSeconds(60))
            .untilAsserted(
                () -> {
                  assertThat(thumbnails.get(new ImageKey("p1", "front")))
                      .hasValueSatisfying(
                          e -> assertThat(e.sha256()).isEqualTo(ImageNormaliser.sha256(jpeg)));
                  assertThat(
                          meters
                              .counter("lookalike.gateway.thumbnails.skipped", "reason", "avro")
                              .count())
                      .isEqualTo(1.0);
                });
        assertThat(thumbnails.get(new ImageKey("p2", "front"))).isEmpty();
        assertThat(logs.list)
            .anySatisfy(
                e ->
                    assertThat(e.getFormattedMessage())
                        .contains("No thumbnail for p2/front")
                        .contains("schema id 987654")
                        .contains("unknown to the registry"));
      }
    } finally {
      feederLog.detachAppender(logs);
    }
  }

  private static ProductImage image(String productId, byte[] jpeg) {
    return ProductImage.newBuilder()
        .setProductId(productId)
        .setImageId("front")
        .setVersion(1)
        .setOccurredAt(Instant.parse("2026-01-02T03:04:05Z"))
        .setSourceUrl("file:/unused.jpg")
        .setPosition(0)
        .setSha256(ImageNormaliser.sha256(jpeg))
        .setMediaType("image/jpeg")
        .setSizeBytes(jpeg.length)
        .setWidth(1)
        .setHeight(1)
        .setBytes(ByteBuffer.wrap(jpeg))
        .setBytesRef(null)
        .setProduct(ProductMetadata.newBuilder().setTitle("Dress " + productId).build())
        .build();
  }
}
