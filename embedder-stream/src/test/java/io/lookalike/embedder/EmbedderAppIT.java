package io.lookalike.embedder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.image.NearDuplicates;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbedderAppIT {

  private static KafkaBroker broker;
  private static DjlEmbedder embedder;
  private static List<ProductImage> images;

  @TempDir Path stateDir;

  @BeforeAll
  static void start() {
    broker = KafkaBroker.start();
    embedder = DjlEmbedder.loadDefault();
    images = sampleImages(40);
    embedder.embed(
        images.subList(0, 8).stream().map(i -> i.getBytes().array()).toList()); // warm-up
  }

  @AfterAll
  static void stop() {
    embedder.close();
    broker.close();
  }

  @Test
  void shouldEmbedEveryPublishedImageAndDeadLetterTheCorruptRecord() throws Exception {
    Map<String, Object> config = config("all", stateDir.resolve("a"), 8, 50);
    createTopics(config, 2);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (EmbedderApp app = new EmbedderApp(config, embedder, registry)) {
      app.start();

      publish(config, images);
      publish(config, "p-bad/1", "garbage".getBytes(StandardCharsets.UTF_8));

      List<ConsumerRecord<String, byte[]>> out =
          readCommitted(embeddingsTopic(config), images.size());
      assertThat(out)
          .extracting(ConsumerRecord::key)
          .doesNotHaveDuplicates()
          .hasSize(images.size());
      ImageEmbedding first = Serdes.imageEmbedding().deserialize(out.get(0).value());
      assertThat(first.getModelId()).isEqualTo(embedder.model().modelId());
      assertThat(first.getVector()).hasSize(1280);
      List<ConsumerRecord<String, byte[]>> dead =
          readCommitted((String) config.get("topic.dead-letters"), 1);
      assertThat(DeadLetters.header(dead.get(0).headers(), DeadLetters.REASON_CODE))
          .isEqualTo("undecodable_record");
      assertThat(registry.get("lookalike.embedder.embedded").counter().count())
          .isEqualTo(images.size());

      // and the buffer's changelog, which holds image bytes, is compacted on a bound
      String changelog =
          config.get(StreamsConfig.APPLICATION_ID_CONFIG)
              + "-"
              + EmbeddingBatcher.BUFFER_STORE
              + "-changelog";
      try (org.apache.kafka.clients.admin.Admin admin = broker.admin()) {
        var resource =
            new org.apache.kafka.common.config.ConfigResource(
                org.apache.kafka.common.config.ConfigResource.Type.TOPIC, changelog);
        var topicConfig = admin.describeConfigs(List.of(resource)).all().get().get(resource);
        EmbedderApp.BUFFER_CHANGELOG_CONFIG.forEach(
            (key, value) -> assertThat(topicConfig.get(key).value()).as(key).isEqualTo(value));
        assertThat(topicConfig.get("cleanup.policy").value()).isEqualTo("compact");
      }
    }
  }

  @Test
  void shouldLoseNoImageWhenAnInstanceStopsWithImagesOnlyInItsBuffer() throws Exception {
    // Given instance A has embedded exactly one batch of 8 and holds the other 4 images in its
    // buffer
    // store only: their input offsets are committed, so Kafka will never hand them out again. The
    // wait
    // is far longer than the test, so the tail cannot flush by itself (no race with the clock).
    // Batches
    // are small so that inference stays well inside the transaction timeout on a starved CPU.
    List<ProductImage> twelve = images.subList(0, 12);
    Map<String, Object> config = config("crash", stateDir.resolve("a"), 8, 600_000);
    createTopics(config, 1);
    String group = (String) config.get(StreamsConfig.APPLICATION_ID_CONFIG);
    SimpleMeterRegistry registryA = new SimpleMeterRegistry();
    try (EmbedderApp a = new EmbedderApp(config, embedder, registryA)) {
      a.start();
      publish(config, twelve);
      await()
          .atMost(Duration.ofSeconds(180))
          .untilAsserted(
              () -> {
                assertThat(committedOffsets(group)).containsExactly((long) twelve.size());
                assertThat(embeddedCount(registryA)).isEqualTo(8);
              });
      // A stops here with its buffer unflushed: it never embedded those 4 images.
    }
    assertThat(embeddedCount(registryA)).isEqualTo(8);

    // When instance B takes over with an empty state directory and a short wait
    Map<String, Object> takeover = new HashMap<>(config);
    takeover.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve("b").toString());
    takeover.put(EmbedderConfig.BATCH_MAX_WAIT_CONFIG, 100L);
    SimpleMeterRegistry registryB = new SimpleMeterRegistry();
    try (EmbedderApp b = new EmbedderApp(takeover, embedder, registryB)) {
      b.start();

      // Then every image's embedding is committed exactly once, and B embedded exactly the rest,
      // restored from the buffer's changelog.
      List<ConsumerRecord<String, byte[]>> out =
          readCommitted(embeddingsTopic(config), twelve.size());
      assertThat(out)
          .extracting(ConsumerRecord::key)
          .doesNotHaveDuplicates()
          .containsExactlyInAnyOrderElementsOf(
              twelve.stream().map(i -> i.getProductId() + "/" + i.getImageId()).toList());
      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(() -> assertThat(embeddedCount(registryB)).isEqualTo(twelve.size() - 8));
    }
  }

  @Test
  void shouldEmbedEachPhotoOnceForAThousandProductsSharingAHundredPhotos() throws Exception {
    // Given 1,000 products over 2 partitions, product i showing photo i % 100
    List<ProductImage> photos = sampleImages(100);
    assertThat(photos.stream().map(ProductImage::getSha256).distinct()).hasSize(100);
    List<ProductImage> products = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      ProductImage product = ProductImage.newBuilder(photos.get(i % 100)).build();
      product.setProductId(String.format("p%04d", i));
      products.add(product);
    }
    Map<String, Object> config = config("shared", stateDir.resolve("a"), 32, 50);
    createTopics(config, 2);
    CountingEmbedder counting = new CountingEmbedder(embedder);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (EmbedderApp app = new EmbedderApp(config, counting, registry)) {
      app.start();

      // When they are published
      publish(config, products);
      List<ConsumerRecord<String, byte[]>> out =
          readCommitted(embeddingsTopic(config), products.size());

      // Then every product has its vector, and each photo was embedded once
      assertThat(out).extracting(ConsumerRecord::key).doesNotHaveDuplicates().hasSize(1000);
      System.out.printf(
          "1,000 products sharing 100 photos: %d images inferred; cache hits %.0f, misses %.0f%n",
          counting.images.get(),
          registry.get("lookalike.embedder.cache.hits").counter().count(),
          registry.get("lookalike.embedder.cache.misses").counter().count());
      assertThat(counting.images.get()).isEqualTo(100);
      assertThat(registry.get("lookalike.embedder.cache.misses").counter().count()).isEqualTo(100);
      assertThat(registry.get("lookalike.embedder.cache.hits").counter().count()).isEqualTo(900);
      Map<String, ImageEmbedding> latest = latest(out);
      assertThat(latest.get("p0100/1").getVector())
          .as("the same photo, the same vector")
          .isEqualTo(latest.get("p0000/1").getVector());
      assertThat(latest.get("p0100/1").getProductId()).isEqualTo("p0100");

      // When one of the products sharing photo 0 is deleted
      publish(config, "p0000/1", null);
      List<ConsumerRecord<String, byte[]>> after = readCommitted(embeddingsTopic(config), 1001);

      // Then only its vector is gone; the others showing that photo keep theirs
      Map<String, ImageEmbedding> now = latest(after);
      assertThat(now).containsKey("p0000/1");
      assertThat(now.get("p0000/1")).as("tombstone").isNull();
      for (int i = 100; i < 1000; i += 100) {
        assertThat(now.get(String.format("p%04d/1", i))).isNotNull();
      }
      assertThat(now.values().stream().filter(java.util.Objects::nonNull)).hasSize(999);
    }

    // And an instance with an empty state directory embeds none of those photos again: it reads
    // the compacted photo cache topic into its global store before it processes anything
    Map<String, Object> takeover = new HashMap<>(config);
    takeover.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve("b").toString());
    CountingEmbedder countingB = new CountingEmbedder(embedder);
    try (EmbedderApp b = new EmbedderApp(takeover, countingB, new SimpleMeterRegistry())) {
      b.start();
      List<ProductImage> more = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        ProductImage product = ProductImage.newBuilder(photos.get(i)).build();
        product.setProductId(String.format("q%04d", i));
        more.add(product);
      }
      publish(config, more);
      List<ConsumerRecord<String, byte[]>> out = readCommitted(embeddingsTopic(config), 1101);
      assertThat(latest(out).keySet().stream().filter(k -> k.startsWith("q"))).hasSize(100);
      System.out.printf(
          "after a restart with an empty state directory: %d images inferred for 100 more"
              + " products%n",
          countingB.images.get());
      assertThat(countingB.images.get()).isZero();
    }
  }

  private static Map<String, ImageEmbedding> latest(List<ConsumerRecord<String, byte[]>> records) {
    Map<String, ImageEmbedding> latest = new HashMap<>();
    records.forEach(
        r ->
            latest.put(
                r.key(),
                r.value() == null ? null : Serdes.imageEmbedding().deserialize(r.value())));
    return latest;
  }

  /** The real model, counting the images it is asked to embed. */
  static final class CountingEmbedder implements io.lookalike.model.Embedder {
    final java.util.concurrent.atomic.AtomicInteger images =
        new java.util.concurrent.atomic.AtomicInteger();
    private final io.lookalike.model.Embedder delegate;

    CountingEmbedder(io.lookalike.model.Embedder delegate) {
      this.delegate = delegate;
    }

    @Override
    public io.lookalike.model.ModelInfo model() {
      return delegate.model();
    }

    @Override
    public List<io.lookalike.model.EmbeddingResult> embed(List<byte[]> batch) {
      images.addAndGet(batch.size());
      return delegate.embed(batch);
    }

    @Override
    public void close() {
      // the real model is shared by the tests
    }
  }

  private static List<Long> committedOffsets(String group) throws Exception {
    try (Admin admin = broker.admin()) {
      return admin
          .listConsumerGroupOffsets(group)
          .partitionsToOffsetAndMetadata()
          .get()
          .values()
          .stream()
          .map(OffsetAndMetadata::offset)
          .toList();
    }
  }

  private static long embeddedCount(SimpleMeterRegistry registry) {
    // The counter exists once the stream task has created its processor.
    var counter = registry.find("lookalike.embedder.embedded").counter();
    return counter == null ? 0 : (long) counter.count();
  }

  private Map<String, Object> config(String name, Path state, int batchSize, long waitMs) {
    Map<String, Object> config = new HashMap<>();
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    config.put(StreamsConfig.APPLICATION_ID_CONFIG, "embedder-it-" + name);
    config.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    config.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    config.put("topic.product-images", name + ".product-images");
    config.put("topic.dead-letters", name + ".dead-letters");
    config.put("topic.image-embeddings.prefix", name + ".image-embeddings.");
    config.put("topic.embedding-cache.prefix", name + ".embedding-cache.");
    config.put(EmbedderConfig.BATCH_MAX_SIZE_CONFIG, batchSize);
    config.put(EmbedderConfig.BATCH_MAX_WAIT_CONFIG, waitMs);
    return config;
  }

  private static String embeddingsTopic(Map<String, Object> config) {
    return new EmbedderConfig(config).topics().embeddings(embedder.model().modelId());
  }

  private static void createTopics(Map<String, Object> config, int partitions) {
    EmbedderConfig c = new EmbedderConfig(config);
    broker.createCompactedTopics(
        partitions,
        c.topics().productImages(),
        embeddingsTopic(config),
        c.topics().embeddingCache(embedder.model().modelId()));
    broker.createTopics(1, c.topics().deadLetters());
  }

  static void publish(Map<String, Object> config, List<ProductImage> images) {
    Map<String, byte[]> records = new java.util.LinkedHashMap<>();
    images.forEach(
        i ->
            records.put(
                i.getProductId() + "/" + i.getImageId(), Serdes.productImage().serialize(i)));
    publish(config, records);
  }

  static void publish(Map<String, Object> config, String key, byte[] value) {
    publish(config, java.util.Collections.singletonMap(key, value));
  }

  static void publish(Map<String, Object> config, Map<String, byte[]> records) {
    Properties props = broker.clientProperties();
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 << 20);
    String topic = new EmbedderConfig(config).topics().productImages();
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
      records.forEach((key, value) -> producer.send(new ProducerRecord<>(topic, key, value)));
    }
  }

  static List<ConsumerRecord<String, byte[]>> readCommitted(String topic, int expected) {
    Properties props = broker.clientProperties();
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + System.nanoTime());
    List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      await()
          .atMost(Duration.ofSeconds(180))
          .until(
              () -> {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
                return out.size() >= expected;
              });
      consumer.poll(Duration.ofMillis(500)).forEach(out::add); // nothing more should come
    }
    return out;
  }

  /** The sample photos as the image fetcher would publish them: decoded and re-encoded as JPEG. */
  static List<ProductImage> sampleImages(int count) {
    Serdes.productImage(); // loading AvroSerde first makes Avro trust our generated classes (record
    // defaults)
    List<ProductImage> out = new ArrayList<>();
    for (SampleImages.Photo photo : SampleImages.photos("validation", count)) {
      byte[] original = photo.bytes();
      byte[] jpeg = NearDuplicates.jpeg(NearDuplicates.decode(original), 0.9f);
      out.add(
          ProductImage.newBuilder()
              .setProductId(photo.id())
              .setImageId("1")
              .setVersion(1)
              .setOccurredAt(Instant.now())
              .setSourceUrl("https://shop.example/" + photo.id() + ".jpg")
              .setSha256(sha256(original))
              .setMediaType("image/jpeg")
              .setSizeBytes(jpeg.length)
              .setWidth(0)
              .setHeight(0)
              .setBytes(ByteBuffer.wrap(jpeg))
              .setProduct(ProductMetadata.newBuilder().setCategory(photo.category()).build())
              .build());
    }
    return out;
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
