package io.lookalike.ingest;

import io.lookalike.schemas.AvroSerde;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Turns product events into image records: drops stale versions, fans deletes and dropped images out
 * to tombstones, fetches and normalises each photo, skips unchanged ones and dead-letters failures.
 *
 * <p>The event value arrives as raw bytes and is decoded here rather than by a Serde with a
 * {@code DeserializationExceptionHandler}: a bad record then takes the same path as any other
 * rejection (dead letter with the original bytes, a metric, the next record goes on), all in this
 * one class and inside the exactly-once transaction.
 */
final class FetcherProcessor implements Processor<byte[], byte[], Object, Object> {

  static final String STAGE = "fetcher";
  static final String URL_HEADER = "lookalike.image.url";
  static final String IMAGE_KEY_HEADER = "lookalike.image.key";

  private static final Logger log = LoggerFactory.getLogger(FetcherProcessor.class);

  private final String storeName;
  private final String imagesSink;
  private final String deadLetterSink;
  private final String deadLetterTopic;
  private final ImageFetcher fetcher;
  private final AvroSerde<ProductEvent> eventSerde = Serdes.productEvent();

  private final Counter published;
  private final Counter unchanged;
  private final Counter tombstones;
  private final Counter stale;
  private final Timer fetchTimer;
  private final MeterRegistry registry;

  private ProcessorContext<Object, Object> context;
  private KeyValueStore<String, ProductState> store;

  FetcherProcessor(String storeName, String imagesSink, String deadLetterSink, String deadLetterTopic,
                   ImageFetcher fetcher, MeterRegistry registry) {
    this.storeName = storeName;
    this.imagesSink = imagesSink;
    this.deadLetterSink = deadLetterSink;
    this.deadLetterTopic = deadLetterTopic;
    this.fetcher = fetcher;
    this.registry = registry;
    this.published = imagesCounter(registry, "published");
    this.unchanged = imagesCounter(registry, "unchanged");
    this.tombstones = imagesCounter(registry, "tombstone");
    this.stale = Counter.builder("lookalike.fetcher.events.stale")
        .description("Product events dropped because a newer version was already processed").register(registry);
    this.fetchTimer = Timer.builder("lookalike.fetcher.fetch")
        .description("Time to download and normalise one image").register(registry);
  }

  private static Counter imagesCounter(MeterRegistry registry, String outcome) {
    return Counter.builder("lookalike.fetcher.images").tag("outcome", outcome)
        .description("Images handled by the fetcher, by outcome").register(registry);
  }

  @Override
  public void init(ProcessorContext<Object, Object> context) {
    this.context = context;
    this.store = context.getStateStore(storeName);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    String key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    int partition = context.recordMetadata().map(RecordMetadata::partition).orElse(-1);
    try (var s = MDC.putCloseable("stage", STAGE);
         var p = MDC.putCloseable("partition", Integer.toString(partition));
         var k = MDC.putCloseable("key", key)) {
      ProductEvent event;
      try {
        event = decode(record.value(), key);
      } catch (RejectedImageException e) {
        log.warn("Dead-lettering invalid product event: {}", e.getMessage());
        deadLetter(record, e, null, null);
        return;
      }
      ProductState state = store.get(event.getProductId());
      if (state != null && event.getVersion() <= state.version()) {
        log.debug("Dropping version {} of {}: version {} already processed",
            event.getVersion(), event.getProductId(), state.version());
        stale.increment();
        return;
      }
      ProductState next = event.getType() == EventType.DELETE
          ? delete(record, event, state)
          : upsert(record, event, state);
      store.put(event.getProductId(), next);
    }
  }

  private ProductEvent decode(byte[] value, String key) throws RejectedImageException {
    if (value == null) {
      throw new RejectedImageException(RejectedImageException.INVALID_EVENT, "null product event");
    }
    ProductEvent event;
    try {
      event = eventSerde.deserialize(value);
    } catch (SerializationException e) {
      throw new RejectedImageException(RejectedImageException.INVALID_EVENT, e.getMessage(), e);
    }
    String productId = event.getProductId();
    if (productId == null || productId.isBlank()) {
      throw new RejectedImageException(RejectedImageException.INVALID_EVENT, "event has no productId");
    }
    // The state store is partitioned by the record key; a different key would split a product's history.
    if (key != null && !key.equals(productId)) {
      throw new RejectedImageException(RejectedImageException.INVALID_EVENT,
          "record key '" + key + "' is not the event's productId '" + productId + "'");
    }
    Set<String> ids = new HashSet<>();
    for (ImageRef image : event.getImages()) {
      String imageId = image.getImageId();
      if (imageId == null || imageId.isEmpty() || imageId.indexOf('/') >= 0) {
        throw new RejectedImageException(RejectedImageException.INVALID_EVENT,
            "imageId must be non-empty and contain no '/': '" + imageId + "'");
      }
      if (!ids.add(imageId)) {
        throw new RejectedImageException(RejectedImageException.INVALID_EVENT, "duplicate imageId '" + imageId + "'");
      }
    }
    return event;
  }

  private ProductState delete(Record<byte[], byte[]> record, ProductEvent event, ProductState state) {
    if (state != null) {
      for (String imageId : state.images().keySet()) {
        tombstone(record, new ImageKey(event.getProductId(), imageId));
      }
    }
    log.debug("Deleted product {} at version {}", event.getProductId(), event.getVersion());
    // Kept as a marker so that older UPSERTs arriving late are still recognised as stale.
    return new ProductState(event.getVersion(), true, Map.of());
  }

  private ProductState upsert(Record<byte[], byte[]> record, ProductEvent event, ProductState state) {
    Map<String, ProductState.Image> before = state == null ? Map.of() : state.images();
    Map<String, ProductState.Image> after = new HashMap<>();
    ProductMetadata metadata = event.getProduct() != null ? event.getProduct() : ProductMetadata.newBuilder().build();
    String metadataHash = metadataHash(metadata);

    Set<String> current = new HashSet<>();
    event.getImages().forEach(i -> current.add(i.getImageId()));
    for (String imageId : before.keySet()) {
      if (!current.contains(imageId)) {
        tombstone(record, new ImageKey(event.getProductId(), imageId));
      }
    }

    for (ImageRef ref : event.getImages()) {
      ImageKey key = new ImageKey(event.getProductId(), ref.getImageId());
      try (var i = MDC.putCloseable("image", key.toString())) {
        NormalisedImage image;
        try {
          image = fetch(ref.getUrl());
        } catch (RejectedImageException e) {
          log.warn("Rejected image {} from {}: {} ({})", key, ref.getUrl(), e.getMessage(), e.reasonCode());
          deadLetter(record, e, ref.getUrl(), key);
          if (before.containsKey(ref.getImageId())) {
            tombstone(record, key); // its newest version is unusable; an older one must not stay searchable
          }
          continue;
        }
        ProductState.Image stored = new ProductState.Image(ref.getUrl(), image.sha256(), metadataHash, ref.getPosition());
        after.put(ref.getImageId(), stored);
        if (stored.equals(before.get(ref.getImageId()))) {
          unchanged.increment();
          continue;
        }
        ProductImage value = ProductImage.newBuilder()
            .setProductId(key.productId())
            .setImageId(key.imageId())
            .setVersion(event.getVersion())
            .setOccurredAt(event.getOccurredAt())
            .setSourceUrl(ref.getUrl())
            .setPosition(ref.getPosition())
            .setSha256(image.sha256())
            .setMediaType(image.mediaType())
            .setSizeBytes(image.bytes().length)
            .setWidth(image.width())
            .setHeight(image.height())
            .setBytes(ByteBuffer.wrap(image.bytes()))
            .setProduct(metadata)
            .build();
        context.forward(new Record<Object, Object>(key.toString(), value, record.timestamp()), imagesSink);
        published.increment();
      }
    }
    return new ProductState(event.getVersion(), false, after);
  }

  private NormalisedImage fetch(String url) throws RejectedImageException {
    Timer.Sample sample = Timer.start(registry);
    try {
      return fetcher.fetch(url);
    } catch (RejectedImageException e) {
      throw e;
    } catch (RuntimeException e) {
      // A bug or an odd URL must not stop the partition: treat it as a failed fetch, keep the cause.
      throw new RejectedImageException(RejectedImageException.FETCH_FAILED, "unexpected error: " + e, e);
    } finally {
      sample.stop(fetchTimer);
    }
  }

  private void tombstone(Record<byte[], byte[]> record, ImageKey key) {
    context.forward(new Record<Object, Object>(key.toString(), null, record.timestamp()), imagesSink);
    tombstones.increment();
  }

  private void deadLetter(Record<byte[], byte[]> record, RejectedImageException error, String url, ImageKey imageKey) {
    DeadLetters.Source source = context.recordMetadata()
        .map(m -> new DeadLetters.Source(m.topic(), m.partition(), m.offset()))
        .orElse(null);
    Throwable cause = error.getCause() != null ? error.getCause() : error;
    ProducerRecord<byte[], byte[]> letter = DeadLetters.record(deadLetterTopic, record.key(), record.value(),
        STAGE, error.reasonCode(), error.getMessage(), cause, source);
    if (url != null) {
      letter.headers().add(URL_HEADER, url.getBytes(StandardCharsets.UTF_8));
    }
    if (imageKey != null) {
      letter.headers().add(IMAGE_KEY_HEADER, imageKey.toString().getBytes(StandardCharsets.UTF_8));
    }
    context.forward(new Record<Object, Object>(record.key(), record.value(), record.timestamp(), letter.headers()),
        deadLetterSink);
    Counter.builder("lookalike.fetcher.rejected").tag("reason", error.reasonCode())
        .description("Images and events dead-lettered by the fetcher, by reason").register(registry).increment();
  }

  /** A stable hash of the metadata snapshot (attributes in key order, so map order does not matter). */
  static String metadataHash(ProductMetadata metadata) {
    ProductMetadata canonical = ProductMetadata.newBuilder(metadata)
        .setAttributes(new TreeMap<>(Objects.requireNonNullElse(metadata.getAttributes(), Map.of())))
        .build();
    return ImageNormaliser.sha256(canonical.toString().getBytes(StandardCharsets.UTF_8)).substring(0, 16);
  }
}
