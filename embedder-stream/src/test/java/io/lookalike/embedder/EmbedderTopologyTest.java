package io.lookalike.embedder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.model.ModelInfo;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbedderTopologyTest {

  private static final Topics TOPICS = Topics.defaults();

  @TempDir Path stateDir;

  private final StandInEmbedder embedder = new StandInEmbedder();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> images;
  private TestOutputTopic<String, ImageEmbedding> embeddings;
  private TestOutputTopic<byte[], byte[]> deadLetters;
  private TestOutputTopic<String, byte[]> photoCache;

  @AfterEach
  void close() {
    if (driver != null) {
      driver.close();
    }
  }

  private void start(int batchMaxSize, long batchMaxWaitMs) {
    start(batchMaxSize, batchMaxWaitMs, Map.of());
  }

  private void start(int batchMaxSize, long batchMaxWaitMs, Map<String, Object> extra) {
    Map<String, Object> settings = new java.util.HashMap<>(extra);
    settings.put(EmbedderConfig.BATCH_MAX_SIZE_CONFIG, batchMaxSize);
    settings.put(EmbedderConfig.BATCH_MAX_WAIT_CONFIG, batchMaxWaitMs);
    EmbedderConfig config = new EmbedderConfig(settings);
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "embedder-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    driver =
        new TopologyTestDriver(
            EmbedderApp.buildTopology(new StreamsBuilder(), TOPICS, embedder, config, registry),
            props,
            Instant.EPOCH);
    images =
        driver.createInputTopic(
            TOPICS.productImages(), new StringSerializer(), new ByteArraySerializer());
    embeddings =
        driver.createOutputTopic(
            TOPICS.embeddings(embedder.model().modelId()),
            new StringDeserializer(),
            Serdes.imageEmbedding().deserializer());
    deadLetters =
        driver.createOutputTopic(
            TOPICS.deadLetters(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    photoCache =
        driver.createOutputTopic(
            TOPICS.embeddingCache(embedder.model().modelId()),
            new StringDeserializer(),
            new ByteArrayDeserializer());
  }

  @Test
  void shouldEmbedOnceTheBatchIsFull() {
    start(3, 60_000);
    pipe("p1", "a", 1, "pixels-1");
    pipe("p2", "a", 1, "pixels-2");
    assertThat(embeddings.isEmpty()).isTrue();

    pipe("p3", "a", 1, "pixels-3");

    assertThat(embeddings.readKeyValuesToList())
        .extracting(kv -> kv.key)
        .containsExactlyInAnyOrder("p1/a", "p2/a", "p3/a");
    assertThat(embedder.batchSizes).containsExactly(3);
    assertThat(registry.get("lookalike.embedder.batch.size").summary().totalAmount()).isEqualTo(3);
    assertThat(registry.get("lookalike.embedder.embedded").counter().count()).isEqualTo(3);
    assertThat(registry.get("lookalike.embedder.inference").timer().count()).isEqualTo(1);
  }

  @Test
  void shouldKeepTheTailOfAFullBatchInTheBufferStoreUntilItIsEmbedded() {
    // The state the crash test in EmbedderAppIT arranges: one full batch embedded, the rest only in
    // the changelogged buffer (whose input offsets the next commit covers).
    start(3, 60_000);
    for (int i = 1; i <= 5; i++) {
      pipe("p" + i, "a", 1, "pixels-" + i);
    }

    assertThat(embeddings.readKeyValuesToList())
        .extracting(kv -> kv.key)
        .containsExactlyInAnyOrder("p1/a", "p2/a", "p3/a");
    KeyValueStore<String, byte[]> buffer = driver.getKeyValueStore(EmbeddingBatcher.BUFFER_STORE);
    List<String> buffered = new ArrayList<>();
    try (KeyValueIterator<String, byte[]> all = buffer.all()) {
      all.forEachRemaining(kv -> buffered.add(kv.key));
    }
    assertThat(buffered).containsExactlyInAnyOrder("p4/a", "p5/a");

    driver.advanceWallClockTime(Duration.ofMinutes(1));

    assertThat(embeddings.readKeyValuesToList())
        .extracting(kv -> kv.key)
        .containsExactlyInAnyOrder("p4/a", "p5/a");
    assertThat(buffer.approximateNumEntries()).isZero();
  }

  @Test
  void shouldEmbedAPartialBatchOnceTheOldestImageWaitedMaxWait() {
    start(32, 50);
    pipe("p1", "a", 1, "pixels-1");
    driver.advanceWallClockTime(Duration.ofMillis(20));
    pipe("p2", "a", 1, "pixels-2");
    driver.advanceWallClockTime(Duration.ofMillis(20));
    assertThat(embeddings.isEmpty()).isTrue();

    driver.advanceWallClockTime(Duration.ofMillis(20));

    List<ImageEmbedding> out = embeddings.readValuesToList();
    assertThat(out).extracting(ImageEmbedding::getProductId).containsExactlyInAnyOrder("p1", "p2");
    assertThat(out.get(0).getModelId()).isEqualTo(embedder.model().modelId());
    assertThat(norm(out.get(0).getVector())).isCloseTo(1.0, within(1e-5));
    assertThat(embedder.batchSizes).containsExactly(2);
  }

  @Test
  void shouldPassATombstoneThroughAndDropTheBufferedImageOfItsKey() {
    start(32, 50);
    pipe("p1", "a", 1, "pixels-1");
    pipe("p2", "a", 1, "pixels-2");

    images.pipeInput("p1/a", null);
    driver.advanceWallClockTime(Duration.ofMillis(100));

    List<TestRecord<String, ImageEmbedding>> out = embeddings.readRecordsToList();
    assertThat(out).extracting(TestRecord::key).containsExactly("p1/a", "p2/a");
    assertThat(out.get(0).value()).isNull();
    assertThat(out.get(1).value().getProductId()).isEqualTo("p2");
    assertThat(embedder.batchSizes).containsExactly(1);
  }

  @Test
  void shouldEmbedOnlyTheNewestImageOfAKey() {
    start(32, 50);
    pipe("p1", "a", 1, "old-pixels");
    pipe("p1", "a", 2, "new-pixels");

    driver.advanceWallClockTime(Duration.ofMillis(100));

    List<ImageEmbedding> out = embeddings.readValuesToList();
    assertThat(out).hasSize(1);
    assertThat(out.get(0).getVersion()).isEqualTo(2);
    assertThat(out.get(0).getSha256()).isEqualTo(sha("new-pixels"));
  }

  @Test
  void shouldReuseTheStoredVectorWhenTheImageIsUnchanged() {
    start(1, 50);
    pipe("p1", "a", 1, "pixels-1");
    ImageEmbedding first = embeddings.readValue();

    ProductImage update = image("p1", "a", 2, "pixels-1");
    update.getProduct().setTitle("Renamed dress");
    images.pipeInput("p1/a", Serdes.productImage().serialize(update));

    ImageEmbedding second = embeddings.readValue();
    assertThat(second.getVersion()).isEqualTo(2);
    assertThat(second.getProduct().getTitle()).isEqualTo("Renamed dress");
    assertThat(second.getVector()).isEqualTo(first.getVector());
    assertThat(embedder.batchSizes).containsExactly(1);
    assertThat(registry.get("lookalike.embedder.reused").counter().count()).isEqualTo(1);
  }

  @Test
  void shouldWriteTheVectorAgainAfterATombstoneFromThePhotoCache() {
    start(1, 50);
    pipe("p1", "a", 1, "pixels-1");
    images.pipeInput("p1/a", null);

    pipe("p1", "a", 2, "pixels-1");

    List<ImageEmbedding> out = embeddings.readValuesToList();
    assertThat(out).hasSize(3);
    assertThat(out.get(1)).isNull();
    assertThat(out.get(2).getVersion()).isEqualTo(2);
    assertThat(embedder.batchSizes).as("the photo's vector is cached by sha256").containsExactly(1);
  }

  @Test
  void shouldEmbedAPhotoSharedByProductsInOneBatchOnce() {
    start(3, 60_000);
    pipe("p1", "a", 1, "pixels-1");
    pipe("p2", "b", 1, "pixels-1");
    pipe("p3", "a", 1, "pixels-2");

    var out = embeddings.readKeyValuesToList();
    assertThat(out).extracting(kv -> kv.key).containsExactlyInAnyOrder("p1/a", "p2/b", "p3/a");
    assertThat(embedder.batchSizes).containsExactly(2);
    assertThat(vectorOf(out, "p2/b")).isEqualTo(vectorOf(out, "p1/a"));
    assertThat(photoCache.readKeyValuesToList())
        .extracting(kv -> kv.key)
        .containsExactlyInAnyOrder(sha("pixels-1"), sha("pixels-2"));
    assertThat(registry.get("lookalike.embedder.cache.misses").counter().count()).isEqualTo(2);
    assertThat(registry.get("lookalike.embedder.cache.hits").counter().count()).isEqualTo(1);
  }

  @Test
  void shouldReuseTheVectorOfAPhotoSeenUnderAnotherProduct() {
    start(1, 50);
    pipe("p1", "a", 1, "pixels-1");
    pipe("p2", "a", 1, "pixels-1");

    var out = embeddings.readKeyValuesToList();
    assertThat(out).extracting(kv -> kv.key).containsExactly("p1/a", "p2/a");
    assertThat(out.get(1).value.getProductId()).isEqualTo("p2");
    assertThat(vectorOf(out, "p2/a")).isEqualTo(vectorOf(out, "p1/a"));
    assertThat(embedder.batchSizes).containsExactly(1);
    assertThat(registry.get("lookalike.embedder.cache.hits").counter().count()).isEqualTo(1);
  }

  @Test
  void shouldTombstoneOnlyTheDeletedProductOfTwoSharingAPhoto() {
    start(1, 50);
    pipe("p1", "a", 1, "pixels-1");
    pipe("p2", "a", 1, "pixels-1");
    embeddings.readKeyValuesToList();

    images.pipeInput("p1/a", null);
    pipe("p3", "a", 1, "pixels-1"); // the shared photo still serves other products

    var out = embeddings.readKeyValuesToList();
    assertThat(out).extracting(kv -> kv.key).containsExactly("p1/a", "p3/a");
    assertThat(out.get(0).value).isNull();
    assertThat(out.get(1).value).isNotNull();
    assertThat(embedder.batchSizes).containsExactly(1);
  }

  @Test
  void shouldEmbedAgainAPhotoErasedFromTheCacheTopic() {
    start(1, 50);
    pipe("p1", "a", 1, "pixels-1");
    images.pipeInput("p1/a", null);
    driver
        .createInputTopic(
            TOPICS.embeddingCache(embedder.model().modelId()),
            new StringSerializer(),
            new ByteArraySerializer())
        .pipeInput(sha("pixels-1"), null);
    driver.advanceWallClockTime(Duration.ofMillis(100));

    pipe("p2", "a", 1, "pixels-1");

    assertThat(embedder.batchSizes).containsExactly(1, 1);
  }

  private static List<Float> vectorOf(
      List<org.apache.kafka.streams.KeyValue<String, ImageEmbedding>> out, String key) {
    return out.stream()
        .filter(kv -> kv.key.equals(key))
        .findFirst()
        .orElseThrow()
        .value
        .getVector();
  }

  @Test
  void shouldDeadLetterAnImageThatFailsToEmbedAndEmbedTheRestOfTheBatch() {
    start(3, 60_000);
    pipe("p1", "a", 1, "pixels-1");
    byte[] bad = pipe("p2", "a", 1, "BAD-pixels");
    pipe("p3", "a", 1, "pixels-3");

    assertThat(embeddings.readKeyValuesToList())
        .extracting(kv -> kv.key)
        .containsExactlyInAnyOrder("p1/a", "p3/a");
    TestRecord<byte[], byte[]> dead = deadLetters.readRecord();
    assertThat(new String(dead.key(), StandardCharsets.UTF_8)).isEqualTo("p2/a");
    assertThat(dead.value()).isEqualTo(bad);
    assertThat(DeadLetters.header(dead.headers(), DeadLetters.STAGE)).isEqualTo("embedder");
    assertThat(DeadLetters.header(dead.headers(), DeadLetters.REASON_CODE))
        .isEqualTo("undecodable_image");
    assertThat(DeadLetters.header(dead.headers(), DeadLetters.SOURCE_TOPIC))
        .isEqualTo(TOPICS.productImages());
    assertThat(DeadLetters.header(dead.headers(), DeadLetters.SOURCE_OFFSET)).isEqualTo("1");
    assertThat(
            registry
                .get("lookalike.embedder.rejected")
                .tag("reason", "undecodable_image")
                .counter()
                .count())
        .isEqualTo(1);
  }

  @Test
  void shouldDeadLetterAnUndecodableRecordWithItsOriginalBytes() {
    start(32, 50);
    byte[] garbage = "not avro at all".getBytes(StandardCharsets.UTF_8);

    images.pipeInput("p9/x", garbage);
    pipe("p1", "a", 1, "pixels-1");
    driver.advanceWallClockTime(Duration.ofMillis(100));

    TestRecord<byte[], byte[]> dead = deadLetters.readRecord();
    assertThat(dead.value()).isEqualTo(garbage);
    assertThat(DeadLetters.header(dead.headers(), DeadLetters.REASON_CODE))
        .isEqualTo("undecodable_record");
    assertThat(DeadLetters.header(dead.headers(), DeadLetters.ERROR_CLASS))
        .contains("SerializationException");
    assertThat(embeddings.readKeyValuesToList()).extracting(kv -> kv.key).containsExactly("p1/a");
    assertThat(
            registry
                .get("lookalike.embedder.rejected")
                .tag("reason", "undecodable_record")
                .counter()
                .count())
        .isEqualTo(1);
  }

  private byte[] pipe(String productId, String imageId, long version, String pixels) {
    byte[] value = Serdes.productImage().serialize(image(productId, imageId, version, pixels));
    images.pipeInput(productId + "/" + imageId, value);
    return value;
  }

  @Test
  void shouldDeadLetterAConfluentFramedImageNamingItsIdWhenNoRegistryIsConfigured() {
    start(1, 60_000);

    images.pipeInput("p1/a", ConfluentWireFormat.encode(42, image("p1", "a", 1, "pixels-1")));

    var dead = deadLetters.readRecord();
    assertThat(new String(dead.headers().lastHeader(DeadLetters.REASON).value()))
        .contains("schema id 42")
        .contains("schema.registry.url");
    assertThat(embeddings.isEmpty()).isTrue();
  }

  @Test
  void shouldFailTheTaskRatherThanDeadLetterWhenTheRegistryCannotBeReached() {
    // Nothing listens on port 1: a real connection refused, not a stand-in
    start(1, 60_000, Map.of("schema.registry.url", "http://127.0.0.1:1"));

    assertThatThrownBy(
            () ->
                images.pipeInput(
                    "p1/a", ConfluentWireFormat.encode(42, image("p1", "a", 1, "pixels-1"))))
        .hasMessageContaining("taskId=0_0")
        .satisfies(
            e ->
                assertThat(e)
                    .hasCauseInstanceOf(
                        io.lookalike.schemas.registry.RegistryUnavailableException.class));
    // Streams aborts the attempt (exactly-once) and a replacement thread reads the record again
    assertThat(deadLetters.isEmpty()).isTrue();
    assertThat(embeddings.isEmpty()).isTrue();
  }

  private static ProductImage image(String productId, String imageId, long version, String pixels) {
    byte[] bytes = pixels.getBytes(StandardCharsets.UTF_8);
    return ProductImage.newBuilder()
        .setProductId(productId)
        .setImageId(imageId)
        .setVersion(version)
        .setOccurredAt(Instant.ofEpochMilli(1_000 * version))
        .setSourceUrl("https://shop.example/" + productId + "/" + imageId + ".jpg")
        .setSha256(sha(pixels))
        .setMediaType("image/jpeg")
        .setSizeBytes(bytes.length)
        .setWidth(1)
        .setHeight(1)
        .setBytes(ByteBuffer.wrap(bytes))
        .setProduct(ProductMetadata.newBuilder().setTitle("Dress").build())
        .build();
  }

  private static String sha(String pixels) {
    return "sha-of-" + pixels;
  }

  private static double norm(List<Float> v) {
    double sum = 0;
    for (float x : v) {
      sum += x * x;
    }
    return Math.sqrt(sum);
  }

  /** Turns bytes into a small unit vector; "BAD" images fail. Records the batch sizes it saw. */
  static final class StandInEmbedder implements Embedder {
    final List<Integer> batchSizes = new ArrayList<>();

    @Override
    public ModelInfo model() {
      return new ModelInfo("stand_in_0000abcd", "stand-in", 3);
    }

    @Override
    public List<EmbeddingResult> embed(List<byte[]> images) {
      batchSizes.add(images.size());
      return images.stream()
          .<EmbeddingResult>map(
              b -> {
                String s = new String(b, StandardCharsets.UTF_8);
                if (s.startsWith("BAD")) {
                  return new EmbeddingResult.Failed(
                      "undecodable_image", "stand-in cannot decode", null);
                }
                float[] v = {b.length, s.hashCode() % 100, 1};
                return new EmbeddingResult.Vector(DjlEmbedder.l2Normalize(v));
              })
          .toList();
    }

    @Override
    public void close() {}
  }
}
