package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.Price;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.testkit.HostileImages;
import io.lookalike.testkit.SampleImages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
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
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FetcherTopologyTest {

  private static final Topics TOPICS = Topics.defaults();
  private static final List<SampleImages.Photo> PHOTOS = SampleImages.photos("test", 3);

  @TempDir Path dir;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private TopologyTestDriver driver;
  private TestInputTopic<String, ProductEvent> events;
  private TestInputTopic<byte[], byte[]> rawEvents;
  private TestOutputTopic<String, ProductImage> images;
  private TestOutputTopic<byte[], byte[]> deadLetters;

  @BeforeEach
  void setUp() {
    ImageDownloader downloader =
        new ImageDownloader(
            new ImageDownloader.Options(
                10 << 20,
                java.time.Duration.ofSeconds(1),
                java.time.Duration.ofSeconds(2),
                2,
                0,
                java.time.Duration.ZERO,
                true));
    var topology =
        FetcherApp.buildTopology(
            new StreamsBuilder(),
            TOPICS,
            ImageFetcher.of(downloader, new ImageNormaliser()),
            registry);
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "fetcher-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
    driver = new TopologyTestDriver(topology, props);
    events =
        driver.createInputTopic(
            TOPICS.productEvents(), new StringSerializer(), Serdes.productEvent().serializer());
    rawEvents =
        driver.createInputTopic(
            TOPICS.productEvents(), new ByteArraySerializer(), new ByteArraySerializer());
    images =
        driver.createOutputTopic(
            TOPICS.productImages(), new StringDeserializer(), Serdes.productImage().deserializer());
    deadLetters =
        driver.createOutputTopic(
            TOPICS.deadLetters(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  @AfterEach
  void tearDown() {
    driver.close();
  }

  @Test
  void shouldPublishEveryImageOfNewProduct() {
    events.pipeInput(
        "p1", upsert("p1", 1, metadata("Red dress"), image("front", 0), image("back", 1)));

    Map<String, ProductImage> out = images.readKeyValuesToMap();
    assertThat(out).containsOnlyKeys("p1/front", "p1/back");
    ProductImage front = out.get("p1/front");
    assertThat(front.getVersion()).isEqualTo(1);
    assertThat(front.getSha256()).isEqualTo(ImageNormaliser.sha256(PHOTOS.get(0).bytes()));
    assertThat(front.getMediaType()).isEqualTo("image/jpeg");
    assertThat(front.getSizeBytes()).isEqualTo(front.getBytes().remaining()).isPositive();
    assertThat(Math.max(front.getWidth(), front.getHeight())).isLessThanOrEqualTo(640);
    assertThat(front.getSourceUrl()).isEqualTo(PHOTOS.get(0).path().toUri().toString());
    assertThat(out.get("p1/back").getPosition()).isEqualTo(1);
    assertThat(front.getProduct().getTitle()).isEqualTo("Red dress");
    assertThat(front.getOccurredAt()).isEqualTo(Instant.ofEpochMilli(1000));
    assertThat(counter("lookalike.fetcher.images", "outcome", "published")).isEqualTo(2);
  }

  @Test
  void shouldPublishNothingWhenUnchangedProductIsRepublished() {
    events.pipeInput("p1", upsert("p1", 1, metadata("Red dress"), image("front", 0)));
    images.readRecordsToList();

    events.pipeInput("p1", upsert("p1", 2, metadata("Red dress"), image("front", 0)));

    assertThat(images.isEmpty()).isTrue();
    assertThat(counter("lookalike.fetcher.images", "outcome", "unchanged")).isEqualTo(1);
  }

  @Test
  void shouldRepublishImageWhenOnlyMetadataChanges() {
    events.pipeInput("p1", upsert("p1", 1, metadata("Red dress"), image("front", 0)));
    String sha = images.readValue().getSha256();

    events.pipeInput("p1", upsert("p1", 2, metadata("Red summer dress"), image("front", 0)));

    ProductImage again = images.readValue();
    assertThat(again.getSha256()).isEqualTo(sha);
    assertThat(again.getVersion()).isEqualTo(2);
    assertThat(again.getProduct().getTitle()).isEqualTo("Red summer dress");
  }

  @Test
  void shouldTombstoneImageDroppedFromProduct() {
    events.pipeInput(
        "p1", upsert("p1", 1, metadata("Red dress"), image("front", 0), image("back", 1)));
    images.readRecordsToList();

    events.pipeInput("p1", upsert("p1", 2, metadata("Red dress"), image("front", 0)));

    List<TestRecord<String, ProductImage>> out = images.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(out.get(0).key()).isEqualTo("p1/back");
    assertThat(out.get(0).value()).isNull();
  }

  @Test
  void shouldTombstoneEveryImageOnDeleteAndDropOlderLateUpsert() {
    events.pipeInput(
        "p1", upsert("p1", 1, metadata("Red dress"), image("front", 0), image("back", 1)));
    images.readRecordsToList();

    events.pipeInput("p1", delete("p1", 5));
    Map<String, ProductImage> out = images.readKeyValuesToMap();
    assertThat(out).containsOnlyKeys("p1/front", "p1/back");
    assertThat(out.values()).containsOnlyNulls();

    events.pipeInput("p1", upsert("p1", 4, metadata("Red dress"), image("front", 0)));
    assertThat(images.isEmpty()).isTrue();
    assertThat(registry.counter("lookalike.fetcher.events.stale").count()).isEqualTo(1);
  }

  @Test
  void shouldApplyFeedDeleteCarryingLastVersionAndAcceptReListing() {
    // Given a product listed by a feed with its own version numbers
    events.pipeInput("p1", upsert("p1", 1, metadata("Red dress"), image("front", 0)));
    images.readRecordsToList();

    // When the feed's synthetic DELETE carries the last version seen (1) and the time it went
    // missing
    events.pipeInput("p1", at(delete("p1", 1), 50_000));

    // Then it is applied, not dropped as stale
    Map<String, ProductImage> deleted = images.readKeyValuesToMap();
    assertThat(deleted).containsOnlyKeys("p1/front");
    assertThat(deleted.values()).containsOnlyNulls();

    // When the product is listed again with version 3, then it is back
    events.pipeInput("p1", upsert("p1", 3, metadata("Red dress"), image("front", 0)));
    assertThat(images.readKeyValuesToMap()).containsOnlyKeys("p1/front").doesNotContainValue(null);
    assertThat(registry.counter("lookalike.fetcher.events.stale").count()).isZero();
  }

  @Test
  void shouldAcceptReListingWithSameVersionAfterFeedDelete() {
    events.pipeInput("p1", upsert("p1", 1, metadata("Red dress"), image("front", 0)));
    events.pipeInput("p1", at(delete("p1", 1), 50_000));
    images.readRecordsToList();

    // A feed that never changes its version: the re-listing is read later, so its occurredAt is
    // later
    events.pipeInput("p1", at(upsert("p1", 1, metadata("Red dress"), image("front", 0)), 60_000));

    assertThat(images.readKeyValuesToMap()).containsOnlyKeys("p1/front").doesNotContainValue(null);
    // while a late copy of the listing from before the delete stays dropped
    events.pipeInput("p1", upsert("p1", 1, metadata("Red dress"), image("front", 0)));
    assertThat(registry.counter("lookalike.fetcher.events.stale").count()).isEqualTo(1);
  }

  @Test
  void shouldDropStaleAndDuplicateVersions() {
    events.pipeInput("p1", upsert("p1", 3, metadata("New title"), image("front", 0)));
    images.readRecordsToList();

    events.pipeInput("p1", upsert("p1", 2, metadata("Old title"), image("back", 1)));
    events.pipeInput("p1", upsert("p1", 3, metadata("New title"), image("front", 0)));

    assertThat(images.isEmpty()).isTrue();
    assertThat(registry.counter("lookalike.fetcher.events.stale").count()).isEqualTo(2);
  }

  @Test
  void shouldTakeSameVersionWithLaterOccurredAtAsNewer() {
    events.pipeInput("p1", upsert("p1", 3, metadata("Old"), image("front", 0)));
    images.readRecordsToList();

    ProductEvent later =
        ProductEvent.newBuilder(upsert("p1", 3, metadata("New"), image("front", 0)))
            .setOccurredAt(Instant.ofEpochMilli(3001))
            .build();
    events.pipeInput("p1", later);

    assertThat(images.readValue().getProduct().getTitle()).isEqualTo("New");
    assertThat(registry.counter("lookalike.fetcher.events.stale").count()).isZero();
  }

  @Test
  void shouldCountSmallVersionBelowEpochMillisVersionAsMixedSchemes() {
    long epochMillis = Instant.parse("2026-12-01T00:00:00Z").toEpochMilli();
    events.pipeInput(
        "p1", upsert("p1", epochMillis, metadata("Loaded without a version"), image("front", 0)));
    images.readRecordsToList();

    events.pipeInput(
        "p1", upsert("p1", 7, metadata("Webhook with its own version"), image("front", 0)));

    assertThat(images.isEmpty()).isTrue();
    assertThat(registry.counter("lookalike.fetcher.events.stale.mixed.versions").count())
        .isEqualTo(1);
  }

  @Test
  void shouldDeadLetterMissingFileAndPublishOtherImages() {
    ProductEvent event =
        upsert(
            "p1",
            1,
            metadata("Red dress"),
            image("front", 0),
            new ImageRef("gone", dir.resolve("missing.jpg").toUri().toString(), 1));
    events.pipeInput("p1", event);

    assertThat(images.readKeyValuesToMap()).containsOnlyKeys("p1/front");
    TestRecord<byte[], byte[]> letter = deadLetters.readRecord();
    assertThat(new String(letter.key(), StandardCharsets.UTF_8)).isEqualTo("p1");
    assertThat(letter.value()).isEqualTo(Serdes.productEvent().serialize(event));
    assertThat(header(letter, DeadLetters.REASON_CODE)).isEqualTo("not_found");
    assertThat(header(letter, DeadLetters.STAGE)).isEqualTo("fetcher");
    assertThat(header(letter, DeadLetters.SOURCE_TOPIC)).isEqualTo(TOPICS.productEvents());
    assertThat(header(letter, FetcherProcessor.URL_HEADER)).endsWith("missing.jpg");
    assertThat(header(letter, FetcherProcessor.IMAGE_KEY_HEADER)).isEqualTo("p1/gone");
    assertThat(counter("lookalike.fetcher.rejected", "reason", "not_found")).isEqualTo(1);
  }

  @Test
  void shouldDeadLetterCorruptReplacementAndTombstoneOlderImage() throws Exception {
    Path corrupt =
        Files.write(dir.resolve("corrupt.jpg"), HostileImages.corruptJpeg(PHOTOS.get(0).bytes()));
    events.pipeInput("p1", upsert("p1", 1, metadata("Red dress"), image("front", 0)));
    images.readRecordsToList();

    events.pipeInput(
        "p1",
        upsert(
            "p1", 2, metadata("Red dress"), new ImageRef("front", corrupt.toUri().toString(), 0)));
    events.pipeInput("p2", upsert("p2", 1, metadata("Blue shirt"), image("front", 1)));

    List<TestRecord<String, ProductImage>> out = images.readRecordsToList();
    assertThat(out).extracting(TestRecord::key).containsExactly("p1/front", "p2/front");
    assertThat(out.get(0).value()).isNull();
    assertThat(header(deadLetters.readRecord(), DeadLetters.REASON_CODE))
        .isEqualTo("corrupt_image");
  }

  @Test
  void shouldDeadLetterUndecodableEventAndGoOn() {
    byte[] garbage = "productId=p9".getBytes(StandardCharsets.UTF_8);
    rawEvents.pipeInput("p9".getBytes(StandardCharsets.UTF_8), garbage);
    events.pipeInput("p1", upsert("p1", 1, metadata("Red dress"), image("front", 0)));

    TestRecord<byte[], byte[]> letter = deadLetters.readRecord();
    assertThat(letter.value()).isEqualTo(garbage);
    assertThat(header(letter, DeadLetters.REASON_CODE)).isEqualTo("invalid_event");
    assertThat(images.readKeyValuesToMap()).containsOnlyKeys("p1/front");
  }

  @Test
  void shouldNameTheExpectedEncodingsWhenDeadLetteringUnknownBytes() {
    rawEvents.pipeInput(
        "p9".getBytes(StandardCharsets.UTF_8), "productId=p9".getBytes(StandardCharsets.UTF_8));

    String reason = header(deadLetters.readRecord(), DeadLetters.REASON);
    assertThat(reason)
        .contains("0x70 0x72")
        .contains("single-object")
        .contains("Confluent")
        .contains("JSON");
  }

  @Test
  void shouldDeadLetterConfluentFramedEventNamingTheSchemaIdWhenNoRegistryIsSet() {
    byte[] framed =
        io.lookalike.schemas.registry.ConfluentWireFormat.encode(
            42, upsert("p1", 1, metadata("x"), image("front", 0)));
    rawEvents.pipeInput("p1".getBytes(StandardCharsets.UTF_8), framed);

    TestRecord<byte[], byte[]> letter = deadLetters.readRecord();
    assertThat(header(letter, DeadLetters.REASON))
        .contains("schema id 42")
        .contains("schema.registry.url");
    assertThat(letter.value()).isEqualTo(framed);
  }

  @Test
  void shouldAcceptJsonEventInTheWebhooksShape() {
    String json =
        "{\"eventId\":\"e1\",\"type\":\"UPSERT\",\"productId\":\"p1\",\"version\":3,"
            + "\"occurredAt\":\"2026-01-02T03:04:05Z\",\"product\":{\"title\":\"Red dress\","
            + "\"price\":{\"amount\":49.9,\"currency\":\"EUR\"}},"
            + "\"images\":[{\"imageId\":\"front\",\"url\":\""
            + url(0)
            + "\",\"position\":0}]}";
    rawEvents.pipeInput(
        "p1".getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8));

    ProductImage front = images.readKeyValuesToMap().get("p1/front");
    assertThat(front.getVersion()).isEqualTo(3);
    assertThat(front.getProduct().getTitle()).isEqualTo("Red dress");
    assertThat(front.getProduct().getPrice().getAmount()).isEqualTo(49.9);
    assertThat(front.getOccurredAt()).isEqualTo(Instant.parse("2026-01-02T03:04:05Z"));
  }

  @Test
  void shouldDeadLetterInvalidJsonEventNamingTheFields() {
    String json = "{\"type\":\"UPSERT\",\"version\":-1}";
    rawEvents.pipeInput(
        "p1".getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8));

    TestRecord<byte[], byte[]> letter = deadLetters.readRecord();
    assertThat(header(letter, DeadLetters.REASON_CODE)).isEqualTo("invalid_event");
    assertThat(header(letter, DeadLetters.REASON))
        .contains("productId: is required")
        .contains("version:");
    assertThat(letter.value()).isEqualTo(json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void shouldKeepOneProductsHistoryWhateverKeyItsProducerUsed() {
    // Given a product published under its own key, then under another key and with none at all
    events.pipeInput(
        "p1", upsert("p1", 1, metadata("Red dress"), image("front", 0), image("back", 1)));
    images.readRecordsToList();

    // When a later version drops an image, and a delete follows, from producers keying differently
    events.pipeInput("some-other-key", upsert("p1", 2, metadata("Red dress"), image("front", 0)));
    List<TestRecord<String, ProductImage>> dropped = images.readRecordsToList();
    events.pipeInput((String) null, delete("p1", 3));

    // Then the dropped image and then every image are tombstoned, as with one producer
    assertThat(dropped).extracting(TestRecord::key).containsExactly("p1/back");
    assertThat(dropped.get(0).value()).isNull();
    Map<String, ProductImage> afterDelete = images.readKeyValuesToMap();
    assertThat(afterDelete).containsOnlyKeys("p1/front");
    assertThat(afterDelete.values()).containsOnlyNulls();
    assertThat(deadLetters.isEmpty()).isTrue();
  }

  @Test
  void shouldNameTheOriginalTopicPartitionAndOffsetInDeadLettersAfterTheRepartition() {
    events.pipeInput("p1", upsert("p1", 1, metadata("x"), image("front", 0)));
    events.pipeInput(
        "p2",
        upsert(
            "p2",
            1,
            metadata("x"),
            new ImageRef("gone", dir.resolve("gone.jpg").toUri().toString(), 0)));

    TestRecord<byte[], byte[]> letter = deadLetters.readRecord();
    assertThat(header(letter, DeadLetters.SOURCE_TOPIC)).isEqualTo(TOPICS.productEvents());
    assertThat(header(letter, DeadLetters.SOURCE_OFFSET)).isEqualTo("1");
    assertThat(letter.headers().lastHeader(ProductKeyer.SOURCE_TOPIC_HEADER)).isNull();
  }

  @Test
  void shouldDeadLetterEventWithInvalidImageIds() {
    events.pipeInput("p1", upsert("p1", 1, metadata("x"), new ImageRef("a/b", url(0), 0)));
    events.pipeInput(
        "p2", upsert("p2", 1, metadata("x"), image("front", 0), new ImageRef("front", url(1), 1)));

    assertThat(deadLetters.readRecordsToList())
        .extracting(r -> header(r, DeadLetters.REASON_CODE))
        .containsExactly("invalid_event", "invalid_event");
    assertThat(images.isEmpty()).isTrue();
  }

  private double counter(String name, String tag, String value) {
    return registry.counter(name, tag, value).count();
  }

  private static String header(TestRecord<byte[], byte[]> record, String name) {
    return DeadLetters.header(record.headers(), name);
  }

  private static ImageRef image(String imageId, int photo) {
    return new ImageRef(imageId, url(photo), photo);
  }

  private static String url(int photo) {
    return PHOTOS.get(photo).path().toUri().toString();
  }

  static ProductMetadata metadata(String title) {
    return ProductMetadata.newBuilder()
        .setTitle(title)
        .setBrand("Acme")
        .setCategory("dress")
        .setPrice(new Price(49.9, "EUR"))
        .setAvailability("IN_STOCK")
        .setAttributes(Map.of("colour", "red", "size", "M"))
        .build();
  }

  static ProductEvent upsert(
      String productId, long version, ProductMetadata metadata, ImageRef... images) {
    return ProductEvent.newBuilder()
        .setEventId(productId + ":" + version)
        .setType(EventType.UPSERT)
        .setProductId(productId)
        .setVersion(version)
        .setOccurredAt(Instant.ofEpochMilli(1000 * version))
        .setProduct(metadata)
        .setImages(Arrays.asList(images))
        .build();
  }

  private static ProductEvent at(ProductEvent event, long occurredAtMs) {
    return ProductEvent.newBuilder(event).setOccurredAt(Instant.ofEpochMilli(occurredAtMs)).build();
  }

  static ProductEvent delete(String productId, long version) {
    return ProductEvent.newBuilder()
        .setEventId(productId + ":" + version)
        .setType(EventType.DELETE)
        .setProductId(productId)
        .setVersion(version)
        .setOccurredAt(Instant.ofEpochMilli(1000 * version))
        .setImages(List.of())
        .build();
  }
}
