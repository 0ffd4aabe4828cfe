package io.lookalike.ingest;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.NormalisedImage;
import io.lookalike.image.RejectedImageException;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Turns product events into image records: drops stale versions, fans deletes and dropped images
 * out to tombstones, fetches and normalises each photo, skips unchanged ones and dead-letters
 * failures.
 *
 * <p>The event value arrives as raw bytes and is decoded here rather than by a Serde with a {@code
 * DeserializationExceptionHandler}: a bad record then takes the same path as any other rejection
 * (dead letter with the original bytes, a metric, the next record goes on), all in this one class
 * and inside the exactly-once transaction.
 *
 * <p><b>Pipelining.</b> Up to {@code maxInFlight} events per task have their images fetched at once
 * on the shared fetch executor (all images of an event in parallel too). An event is applied to the
 * store and forwarded once its fetches are done and every earlier event of the same product has
 * been applied, only on the stream thread, from {@code process} or from a wall-clock punctuation;
 * so ordering per product and per image key is that of the input, and a slow image holds back only
 * its product. Each event is first written to a changelogged "pending" store in the same
 * transaction as its input offset, and removed in the transaction that forwards its results: after
 * a crash or a rebalance the new owner restores the pending events and fetches them again, so
 * exactly-once holds although the work spans commits.
 */
final class FetcherProcessor implements Processor<byte[], byte[], Object, Object> {

  static final String STAGE = "fetcher";
  static final String URL_HEADER = "lookalike.image.url";
  static final String IMAGE_KEY_HEADER = "lookalike.image.key";

  /** How often completed events are looked for when no new event arrives. */
  static final Duration DRAIN_INTERVAL = Duration.ofMillis(10);

  private static final Logger log = LoggerFactory.getLogger(FetcherProcessor.class);

  private final String imagesSink;
  private final String deadLetterSink;
  private final String deadLetterTopic;
  private final ImageFetcher fetcher;
  private final Executor executor;
  private final int maxInFlight;
  private final ProductEventDecoder decoder;

  private final Counter published;
  private final Counter unchanged;
  private final Counter tombstones;
  private final Counter stale;
  private final Counter mixedVersions;
  private final Timer fetchTimer;
  private final MeterRegistry registry;
  private final AtomicInteger imagesInFlight;

  private ProcessorContext<Object, Object> context;
  private KeyValueStore<String, ProductState> store;
  private KeyValueStore<Long, PendingEvent> pending;
  private final Deque<InFlight> inFlight = new ArrayDeque<>();

  /**
   * Highest version of each product among the events in flight, to skip fetching for stale ones
   * early.
   */
  private final Map<String, Long> inFlightVersions = new HashMap<>();

  private long nextSequence;
  private Cancellable drainer;

  FetcherProcessor(
      String imagesSink,
      String deadLetterSink,
      String deadLetterTopic,
      ProductEventDecoder decoder,
      ImageFetcher fetcher,
      Executor executor,
      int maxInFlight,
      MeterRegistry registry,
      AtomicInteger imagesInFlight) {
    this.decoder = decoder;
    this.imagesSink = imagesSink;
    this.deadLetterSink = deadLetterSink;
    this.deadLetterTopic = deadLetterTopic;
    this.fetcher = fetcher;
    this.executor = executor;
    this.maxInFlight = maxInFlight;
    this.registry = registry;
    this.published = imagesCounter(registry, "published");
    this.unchanged = imagesCounter(registry, "unchanged");
    this.tombstones = imagesCounter(registry, "tombstone");
    this.stale =
        Counter.builder("lookalike.fetcher.events.stale")
            .description("Product events dropped because a newer version was already processed")
            .register(registry);
    this.mixedVersions =
        Counter.builder("lookalike.fetcher.events.stale.mixed.versions")
            .description(
                "Stale events whose version is a small number below an epoch-ms one: sources mixing version "
                    + "schemes")
            .register(registry);
    this.fetchTimer =
        Timer.builder("lookalike.fetcher.fetch")
            .description("Time to download and normalise one image")
            .register(registry);
    this.imagesInFlight = imagesInFlight;
  }

  private static Counter imagesCounter(MeterRegistry registry, String outcome) {
    return Counter.builder("lookalike.fetcher.images")
        .tag("outcome", outcome)
        .description("Images handled by the fetcher, by outcome")
        .register(registry);
  }

  /**
   * An input record as kept in the pending store: enough to process it, and to dead-letter it,
   * later.
   */
  record PendingEvent(
      byte[] key, byte[] value, long timestamp, String topic, int partition, long offset) {}

  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  /** JSON (bytes as base64), like {@link ProductState}: the changelog stays readable. */
  static Serde<PendingEvent> pendingSerde() {
    return org.apache.kafka.common.serialization.Serdes.serdeFrom(
        (topic, event) -> {
          try {
            return event == null ? null : JSON.writeValueAsBytes(event);
          } catch (IOException e) {
            throw new SerializationException("Cannot encode pending event", e);
          }
        },
        (topic, bytes) -> {
          try {
            return bytes == null ? null : JSON.readValue(bytes, PendingEvent.class);
          } catch (IOException e) {
            throw new SerializationException("Cannot decode pending event", e);
          }
        });
  }

  /** The outcome of fetching one image: the image, or why not. */
  private record Fetched(NormalisedImage image, RejectedImageException error) {}

  /** One event on its way: decoded (or the reason it is invalid) and the fetches of its images. */
  private record InFlight(
      long sequence,
      PendingEvent input,
      ProductEvent event,
      RejectedImageException invalid,
      boolean skipped,
      Map<String, CompletableFuture<Fetched>> fetches) {
    boolean isDone() {
      return fetches.values().stream().allMatch(CompletableFuture::isDone);
    }

    /**
     * The product whose order this event must keep: its productId, or its record key when
     * undecodable.
     */
    String product() {
      return event != null
          ? event.getProductId()
          : input.key() == null ? null : new String(input.key(), StandardCharsets.UTF_8);
    }
  }

  @Override
  public void init(ProcessorContext<Object, Object> context) {
    this.context = context;
    this.store = context.getStateStore(FetcherApp.STORE_NAME);
    this.pending = context.getStateStore(FetcherApp.PENDING_STORE_NAME);
    // Events taken in before a crash or a rebalance but not yet applied: fetch them again, in
    // order.
    try (KeyValueIterator<Long, PendingEvent> it = pending.all()) {
      while (it.hasNext()) {
        KeyValue<Long, PendingEvent> entry = it.next();
        nextSequence = entry.key + 1;
        submit(entry.key, entry.value);
      }
    }
    if (!inFlight.isEmpty()) {
      log.info(
          "Resuming {} product events left pending by the previous owner of this task",
          inFlight.size());
    }
    drainer = context.schedule(DRAIN_INTERVAL, PunctuationType.WALL_CLOCK_TIME, now -> drain());
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    // Where the event was published, as ProductKeyer noted it before the repartition topic.
    RecordMetadata metadata = context.recordMetadata().orElse(null);
    String topic = header(record, ProductKeyer.SOURCE_TOPIC_HEADER);
    PendingEvent input =
        topic != null
            ? new PendingEvent(
                originalKey(record.key()),
                record.value(),
                record.timestamp(),
                topic,
                Integer.parseInt(header(record, ProductKeyer.SOURCE_PARTITION_HEADER)),
                Long.parseLong(header(record, ProductKeyer.SOURCE_OFFSET_HEADER)))
            : new PendingEvent(
                originalKey(record.key()),
                record.value(),
                record.timestamp(),
                metadata == null ? null : metadata.topic(),
                metadata == null ? -1 : metadata.partition(),
                metadata == null ? -1 : metadata.offset());
    long sequence = nextSequence++;
    pending.put(sequence, input);
    submit(sequence, input);
    drain();
    while (inFlight.size() >= maxInFlight) {
      awaitOldest(); // the window is full
    }
  }

  private static String header(Record<byte[], byte[]> record, String name) {
    return DeadLetters.header(record.headers(), name);
  }

  /** ProductKeyer keys an undecodable record that had no key with an empty one; it had none. */
  private static byte[] originalKey(byte[] key) {
    return key == null || key.length == 0 ? null : key;
  }

  @Override
  public void close() {
    if (drainer != null) {
      drainer.cancel();
    }
    // What is in flight stays in the pending store; whoever owns the task next fetches it again.
    inFlight.forEach(f -> f.fetches().values().forEach(c -> c.cancel(true)));
    inFlight.clear();
    inFlightVersions.clear();
  }

  /** Decodes the event and starts fetching its images (unless it is invalid, stale or a delete). */
  private void submit(long sequence, PendingEvent input) {
    ProductEvent event;
    try {
      event = decode(input.value(), input.timestamp());
    } catch (RejectedImageException e) {
      inFlight.addLast(new InFlight(sequence, input, null, e, true, Map.of()));
      return;
    }
    ProductState state = store.get(event.getProductId());
    boolean skip =
        event.getType() == EventType.DELETE
            || !EventOrder.isNewer(event, state)
            || event.getVersion()
                <= inFlightVersions.getOrDefault(event.getProductId(), Long.MIN_VALUE);
    Map<String, CompletableFuture<Fetched>> fetches = new LinkedHashMap<>();
    if (!skip) {
      for (ImageRef ref : event.getImages()) {
        ImageKey imageKey = new ImageKey(event.getProductId(), ref.getImageId());
        fetches.put(ref.getImageId(), fetchAsync(ref.getUrl(), imageKey, input.partition()));
      }
      inFlightVersions.merge(event.getProductId(), event.getVersion(), Math::max);
    }
    inFlight.addLast(new InFlight(sequence, input, event, null, skip, fetches));
  }

  private CompletableFuture<Fetched> fetchAsync(String url, ImageKey imageKey, int partition) {
    try {
      return CompletableFuture.supplyAsync(
          () -> {
            imagesInFlight.incrementAndGet();
            try (var s = MDC.putCloseable("stage", STAGE);
                var p = MDC.putCloseable("partition", Integer.toString(partition));
                var i = MDC.putCloseable("image", imageKey.toString())) {
              return fetch(url);
            } finally {
              imagesInFlight.decrementAndGet();
            }
          },
          executor);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.completedFuture(
          new Fetched(
              null,
              new RejectedImageException(
                  RejectedImageException.FETCH_FAILED, "fetcher is shutting down", e)));
    }
  }

  /**
   * Applies every finished event that no earlier event of the same product is waiting for; so a
   * slow image holds back only its own product, never the partition.
   */
  private void drain() {
    Set<String> waiting = new HashSet<>();
    for (Iterator<InFlight> it = inFlight.iterator(); it.hasNext(); ) {
      InFlight item = it.next();
      String product = item.product();
      if (item.isDone() && (product == null || !waiting.contains(product))) {
        apply(item);
        it.remove();
      } else if (product != null) {
        waiting.add(product);
      }
    }
  }

  /** Waits for the oldest event's fetches, then applies whatever is finished. */
  private void awaitOldest() {
    inFlight.peekFirst().fetches().values().forEach(CompletableFuture::join);
    drain();
  }

  /** Updates the store and forwards the event's records, then forgets it. */
  private void apply(InFlight item) {
    PendingEvent input = item.input();
    String key = input.key() == null ? null : new String(input.key(), StandardCharsets.UTF_8);
    try (var s = MDC.putCloseable("stage", STAGE);
        var p = MDC.putCloseable("partition", Integer.toString(input.partition()));
        var k = MDC.putCloseable("key", key)) {
      applyEvent(item);
    }
    pending.delete(item.sequence());
    if (item.event() != null) {
      inFlightVersions.remove(item.event().getProductId(), item.event().getVersion());
    }
  }

  private void applyEvent(InFlight item) {
    if (item.invalid() != null) {
      log.warn("Dead-lettering invalid product event: {}", item.invalid().getMessage());
      deadLetter(item.input(), item.invalid(), null, null);
      return;
    }
    ProductEvent event = item.event();
    ProductState state = store.get(event.getProductId());
    if (!EventOrder.isNewer(event, state)) {
      if (looksLikeMixedVersionSchemes(event.getVersion(), state.version())) {
        mixedVersions.increment();
        log.warn(
            "Dropping version {} of {} as stale: version {} was processed before. It looks like one source sends "
                + "its own small version numbers and another none (so occurredAt in epoch ms): use one scheme per "
                + "product (docs/producing.md, the version rule)",
            event.getVersion(),
            event.getProductId(),
            state.version());
      } else {
        log.debug(
            "Dropping version {} ({}) of {}: version {} ({}) already processed",
            event.getVersion(),
            event.getOccurredAt(),
            event.getProductId(),
            state.version(),
            state.occurredAt());
      }
      stale.increment();
      return;
    }
    ProductState next =
        event.getType() == EventType.DELETE
            ? delete(item.input(), event, state)
            : upsert(item, event, state);
    store.put(event.getProductId(), next);
  }

  private ProductEvent decode(byte[] value, long timestamp) throws RejectedImageException {
    ProductEvent event = decoder.decode(value, timestamp);
    String productId = event.getProductId();
    if (productId == null || productId.isBlank()) {
      throw new RejectedImageException(
          RejectedImageException.INVALID_EVENT, "event has no productId");
    }
    // Any record key is fine: ProductKeyer re-keyed the event by its productId before the
    // repartition topic.
    Set<String> ids = new HashSet<>();
    for (ImageRef image : event.getImages()) {
      String imageId = image.getImageId();
      if (imageId == null || imageId.isEmpty() || imageId.indexOf('/') >= 0) {
        throw new RejectedImageException(
            RejectedImageException.INVALID_EVENT,
            "imageId must be non-empty and contain no '/': '" + imageId + "'");
      }
      if (!ids.add(imageId)) {
        throw new RejectedImageException(
            RejectedImageException.INVALID_EVENT, "duplicate imageId '" + imageId + "'");
      }
    }
    return event;
  }

  private ProductState delete(PendingEvent record, ProductEvent event, ProductState state) {
    if (state != null) {
      for (String imageId : state.images().keySet()) {
        tombstone(record, new ImageKey(event.getProductId(), imageId));
      }
    }
    log.debug("Deleted product {} at version {}", event.getProductId(), event.getVersion());
    // Kept as a marker so that older UPSERTs arriving late are still recognised as stale.
    return new ProductState(
        event.getVersion(), event.getOccurredAt().toEpochMilli(), true, Map.of());
  }

  private ProductState upsert(InFlight item, ProductEvent event, ProductState state) {
    PendingEvent record = item.input();
    Map<String, ProductState.Image> before = state == null ? Map.of() : state.images();
    Map<String, ProductState.Image> after = new HashMap<>();
    ProductMetadata metadata =
        event.getProduct() != null ? event.getProduct() : ProductMetadata.newBuilder().build();
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
        CompletableFuture<Fetched> started = item.fetches().get(ref.getImageId());
        // Not started when the event looked stale on arrival; fetched now should that have been
        // wrong.
        Fetched fetched = started != null ? started.join() : fetch(ref.getUrl());
        NormalisedImage image = fetched.image();
        if (image == null) {
          RejectedImageException e = fetched.error();
          log.warn(
              "Rejected image {} from {}: {} ({})",
              key,
              ref.getUrl(),
              e.getMessage(),
              e.reasonCode());
          deadLetter(record, e, ref.getUrl(), key);
          if (before.containsKey(ref.getImageId())) {
            tombstone(
                record,
                key); // its newest version is unusable; an older one must not stay searchable
          }
          continue;
        }
        ProductState.Image stored =
            new ProductState.Image(ref.getUrl(), image.sha256(), metadataHash, ref.getPosition());
        after.put(ref.getImageId(), stored);
        if (stored.equals(before.get(ref.getImageId()))) {
          unchanged.increment();
          continue;
        }
        ProductImage value =
            ProductImage.newBuilder()
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
        context.forward(
            new Record<Object, Object>(key.toString(), value, record.timestamp()), imagesSink);
        published.increment();
      }
    }
    return new ProductState(event.getVersion(), event.getOccurredAt().toEpochMilli(), false, after);
  }

  /**
   * Never throws: a rejection, or any bug or odd URL, becomes the image's outcome (keeping the
   * cause).
   */
  private Fetched fetch(String url) {
    Timer.Sample sample = Timer.start(registry);
    try {
      return new Fetched(fetcher.fetch(url), null);
    } catch (RejectedImageException e) {
      return new Fetched(null, e);
    } catch (RuntimeException | LinkageError e) {
      return new Fetched(
          null,
          new RejectedImageException(
              RejectedImageException.FETCH_FAILED, "unexpected error: " + e, e));
    } finally {
      sample.stop(fetchTimer);
    }
  }

  private void tombstone(PendingEvent record, ImageKey key) {
    context.forward(
        new Record<Object, Object>(key.toString(), null, record.timestamp()), imagesSink);
    tombstones.increment();
  }

  private void deadLetter(
      PendingEvent record, RejectedImageException error, String url, ImageKey imageKey) {
    DeadLetters.Source source =
        record.topic() == null
            ? null
            : new DeadLetters.Source(record.topic(), record.partition(), record.offset());
    Throwable cause = error.getCause() != null ? error.getCause() : error;
    ProducerRecord<byte[], byte[]> letter =
        DeadLetters.record(
            deadLetterTopic,
            record.key(),
            record.value(),
            STAGE,
            error.reasonCode(),
            error.getMessage(),
            cause,
            source);
    if (url != null) {
      letter.headers().add(URL_HEADER, url.getBytes(StandardCharsets.UTF_8));
    }
    if (imageKey != null) {
      letter.headers().add(IMAGE_KEY_HEADER, imageKey.toString().getBytes(StandardCharsets.UTF_8));
    }
    context.forward(
        new Record<Object, Object>(
            record.key(), record.value(), record.timestamp(), letter.headers()),
        deadLetterSink);
    Counter.builder("lookalike.fetcher.rejected")
        .tag("reason", error.reasonCode())
        .description("Images and events dead-lettered by the fetcher, by reason")
        .register(registry)
        .increment();
  }

  /**
   * A small version below one that looks like epoch milliseconds (after 2001): two schemes meet on
   * one product.
   */
  static boolean looksLikeMixedVersionSchemes(long incoming, long processed) {
    return processed >= 1_000_000_000_000L && incoming < 100_000_000_000L;
  }

  /**
   * A stable hash of the metadata snapshot (attributes in key order, so map order does not matter).
   */
  static String metadataHash(ProductMetadata metadata) {
    ProductMetadata canonical =
        ProductMetadata.newBuilder(metadata)
            .setAttributes(
                new TreeMap<>(Objects.requireNonNullElse(metadata.getAttributes(), Map.of())))
            .build();
    return ImageNormaliser.sha256(canonical.toString().getBytes(StandardCharsets.UTF_8))
        .substring(0, 16);
  }
}
