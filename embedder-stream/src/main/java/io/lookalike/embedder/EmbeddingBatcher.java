package io.lookalike.embedder;

import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.registry.AvroValueSerde;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects product photos into micro-batches and embeds each batch in one forward pass, once per
 * photo (sha256): outputs serialised {@link ImageEmbedding}s (null for a tombstone) and dead
 * letters to {@link #OUT} (a dead letter is told apart by its {@link DeadLetters#STAGE} header),
 * and each newly inferred vector, keyed by sha256, to {@link #PHOTO_CACHE_OUT}.
 *
 * <p>Why a cache beside the key-partitioned flow rather than a repartition by sha256: the records
 * of one productId/imageId must stay in order (a tombstone must never be overtaken by an older
 * upsert, and a tombstone carries no sha256 to be routed by), so the processing stays partitioned
 * by key; only the vectors are shared, through the compacted photo-cache topic read back by every
 * instance as a global store ({@link #PHOTO_CACHE_STORE}). A vector is a pure function of (photo,
 * model), so reading one from an aborted transaction or another instance is always right; what the
 * global store has not read back yet is covered, inside one instance, by {@link RecentVectors}.
 */
final class EmbeddingBatcher implements Processor<byte[], byte[], byte[], byte[]> {

  /**
   * Images waiting for the next batch. It must be a changelogged state store, not a field: under
   * exactly-once the input offset of a buffered record is committed with the next transaction, long
   * before its embedding is written, so after a crash the record is never read again — the
   * changelog is the only copy that survives.
   */
  static final String BUFFER_STORE = "embedder-buffer";

  /** The sha256 and vector last written per key, so an unchanged image is not embedded again. */
  static final String VECTOR_STORE = "embedder-vectors";

  /**
   * The model's photo cache, sha256 → vector: a global store read from the compacted {@code
   * catalog.embedding-cache.<modelId>} topic, which this processor writes (through {@link
   * #PHOTO_CACHE_OUT}).
   */
  static final String PHOTO_CACHE_STORE = "embedder-photo-cache";

  /** The child that writes embeddings, tombstones and dead letters. */
  static final String OUT = "out";

  /** The child that writes newly inferred vectors to the photo-cache topic. */
  static final String PHOTO_CACHE_OUT = "photo-cache-out";

  static final String STAGE = "embedder";

  private static final Logger log = LoggerFactory.getLogger(EmbeddingBatcher.class);

  private final Embedder embedder;
  private final String sourceTopic;
  private final String deadLetterTopic;
  private final int batchMaxSize;
  private final long batchMaxWaitMs;
  private final MeterRegistry registry;
  private final AvroValueSerde<ProductImage> images;
  private final AvroValueSerde<ImageEmbedding> embeddings;
  private final String embeddingsTopic;
  private final Counter embedded;
  private final Counter reused;
  private final Counter cacheHits;
  private final Counter cacheMisses;
  private final RecentVectors recent;
  private final Timer inference;
  private final DistributionSummary batchSize;

  private ProcessorContext<byte[], byte[]> context;
  private KeyValueStore<String, byte[]> buffer;
  private KeyValueStore<String, byte[]> vectors;
  private KeyValueStore<String, byte[]> photoCache;
  private int buffered;
  private long oldestBufferedAt = Long.MAX_VALUE;

  /**
   * @param images reads product images in any Avro encoding (a registry that cannot be asked throws
   *     {@link io.lookalike.schemas.registry.RegistryUnavailableException} out of the processor:
   *     the stream thread is replaced and the record read again, never dead-lettered)
   * @param embeddings writes embeddings to {@code embeddingsTopic} in the configured format
   */
  EmbeddingBatcher(
      Embedder embedder,
      AvroValueSerde<ProductImage> images,
      AvroValueSerde<ImageEmbedding> embeddings,
      String embeddingsTopic,
      String sourceTopic,
      String deadLetterTopic,
      int batchMaxSize,
      long batchMaxWaitMs,
      RecentVectors recent,
      MeterRegistry registry) {
    this.embedder = embedder;
    this.images = images;
    this.embeddings = embeddings;
    this.embeddingsTopic = embeddingsTopic;
    this.sourceTopic = sourceTopic;
    this.deadLetterTopic = deadLetterTopic;
    this.batchMaxSize = batchMaxSize;
    this.batchMaxWaitMs = batchMaxWaitMs;
    this.registry = registry;
    this.recent = recent;
    String model = embedder.model().modelId();
    this.embedded =
        Counter.builder("lookalike.embedder.embedded")
            .tag("model", model)
            .description("Images embedded by the model")
            .register(registry);
    this.reused =
        Counter.builder("lookalike.embedder.reused")
            .tag("model", model)
            .description("Images whose sha256 was unchanged: stored vector reused, no inference")
            .register(registry);
    this.cacheHits =
        Counter.builder("lookalike.embedder.cache.hits")
            .tag("model", model)
            .description(
                "Images written with a vector already known for their photo (sha256), from any "
                    + "product or image: no inference")
            .register(registry);
    this.cacheMisses =
        Counter.builder("lookalike.embedder.cache.misses")
            .tag("model", model)
            .description("Photos (sha256) not seen before by this model: one inference each")
            .register(registry);
    this.inference =
        Timer.builder("lookalike.embedder.inference")
            .tag("model", model)
            .description("Time to decode and embed one batch")
            .register(registry);
    this.batchSize =
        DistributionSummary.builder("lookalike.embedder.batch.size")
            .tag("model", model)
            .description("Images per inference batch")
            .register(registry);
  }

  @Override
  public void init(ProcessorContext<byte[], byte[]> context) {
    this.context = context;
    this.buffer = context.getStateStore(BUFFER_STORE);
    this.vectors = context.getStateStore(VECTOR_STORE);
    this.photoCache = context.getStateStore(PHOTO_CACHE_STORE);
    // After a restart the buffer holds what the last instance had not embedded yet.
    try (KeyValueIterator<String, byte[]> all = buffer.all()) {
      all.forEachRemaining(
          kv -> {
            buffered++;
            oldestBufferedAt = Math.min(oldestBufferedAt, Pending.decode(kv.value).bufferedAt());
          });
    }
    long tick = Math.max(1, Math.min(batchMaxWaitMs / 5, 100));
    context.schedule(
        Duration.ofMillis(tick), PunctuationType.WALL_CLOCK_TIME, this::flushIfWaitedLongEnough);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    RecordMetadata meta = context.recordMetadata().orElseThrow();
    DeadLetters.Source source =
        new DeadLetters.Source(meta.topic(), meta.partition(), meta.offset());
    if (record.key() == null) {
      deadLetter(
          record.key(),
          record.value(),
          record.timestamp(),
          "missing_key",
          "Record has no key",
          null,
          source);
      return;
    }
    String key = new String(record.key(), StandardCharsets.UTF_8);
    if (record.value() == null) {
      // A tombstone overtakes nothing: whatever was buffered for the key is older, so it goes.
      unbuffer(key);
      vectors.delete(key);
      context.forward(new Record<>(record.key(), null, record.timestamp()), OUT);
      return;
    }
    ProductImage image;
    try {
      image = images.deserialize(record.value());
    } catch (SerializationException e) {
      deadLetter(
          record.key(),
          record.value(),
          record.timestamp(),
          "undecodable_record",
          e.getMessage(),
          e,
          source);
      return;
    }
    if (image.getBytes() == null) {
      deadLetter(
          record.key(),
          record.value(),
          record.timestamp(),
          "missing_image_bytes",
          "The record has no inline image bytes (claim checks are not supported)",
          null,
          source);
      return;
    }
    byte[] knownBytes = vectors.get(key);
    if (knownBytes != null) {
      Known known = Known.decode(knownBytes);
      if (known.sha256().equals(image.getSha256())) {
        unbuffer(key);
        forwardEmbedding(record.key(), image, known.vector(), record.timestamp());
        reused.increment();
        cacheHits.increment();
        return;
      }
    }
    float[] cached = cached(image.getSha256());
    if (cached != null) {
      unbuffer(key);
      vectors.put(key, new Known(image.getSha256(), cached).encode());
      forwardEmbedding(record.key(), image, cached, record.timestamp());
      cacheHits.increment();
      return;
    }
    long now = context.currentSystemTimeMs();
    boolean replaced = buffer.get(key) != null;
    buffer.put(
        key,
        new Pending(now, record.timestamp(), meta.partition(), meta.offset(), record.value())
            .encode());
    if (!replaced) {
      buffered++;
      oldestBufferedAt = Math.min(oldestBufferedAt, now);
    }
    if (buffered >= batchMaxSize) {
      flush();
    }
  }

  private void flushIfWaitedLongEnough(long now) {
    if (buffered > 0 && now - oldestBufferedAt >= batchMaxWaitMs) {
      flush();
    }
  }

  private void flush() {
    List<KeyValue<String, byte[]>> entries = new ArrayList<>(buffered);
    try (KeyValueIterator<String, byte[]> all = buffer.all()) {
      all.forEachRemaining(entries::add);
    }
    buffered = 0;
    oldestBufferedAt = Long.MAX_VALUE;
    if (entries.isEmpty()) {
      return;
    }
    List<Pending> pending = new ArrayList<>(entries.size());
    List<ProductImage> batch = new ArrayList<>(entries.size());
    // One inference per photo: images of a sha256 already cached (by another task meanwhile) take
    // that vector; images sharing a new sha256 share one slot of the forward pass.
    Map<String, float[]> known = new HashMap<>();
    Map<String, Integer> slots = new LinkedHashMap<>();
    List<byte[]> bytes = new ArrayList<>(entries.size());
    for (KeyValue<String, byte[]> entry : entries) {
      Pending p = Pending.decode(entry.value);
      ProductImage image = images.deserialize(p.value());
      pending.add(p);
      batch.add(image);
      String photo = photoKey(image, entry.key);
      if (known.containsKey(photo) || slots.containsKey(photo)) {
        continue;
      }
      float[] cached = cached(image.getSha256());
      if (cached != null) {
        known.put(photo, cached);
      } else {
        slots.put(photo, bytes.size());
        bytes.add(toArray(image.getBytes()));
      }
    }
    List<EmbeddingResult> results = List.of();
    if (!bytes.isEmpty()) {
      batchSize.record(bytes.size());
      results = inference.record(() -> embedder.embed(bytes));
    }
    boolean[] written = new boolean[bytes.size()];
    for (int i = 0; i < entries.size(); i++) {
      String key = entries.get(i).key;
      buffer.delete(key); // only after inference: a batch that dies midway stays buffered
      byte[] keyBytes = key.getBytes(StandardCharsets.UTF_8);
      Pending p = pending.get(i);
      ProductImage image = batch.get(i);
      String photo = photoKey(image, key);
      float[] cached = known.get(photo);
      if (cached != null) {
        vectors.put(key, new Known(image.getSha256(), cached).encode());
        forwardEmbedding(keyBytes, image, cached, p.timestamp());
        cacheHits.increment();
        continue;
      }
      int slot = slots.get(photo);
      if (results.get(slot) instanceof EmbeddingResult.Vector v) {
        vectors.put(key, new Known(image.getSha256(), v.values()).encode());
        forwardEmbedding(keyBytes, image, v.values(), p.timestamp());
        if (written[slot]) {
          cacheHits.increment();
        } else {
          written[slot] = true;
          embedded.increment();
          cacheMisses.increment();
          remember(image.getSha256(), v.values(), p.timestamp());
        }
      } else if (results.get(slot) instanceof EmbeddingResult.Failed f) {
        deadLetter(
            keyBytes,
            p.value(),
            p.timestamp(),
            f.reasonCode(),
            f.reason(),
            f.cause(),
            new DeadLetters.Source(sourceTopic, p.partition(), p.offset()));
      }
    }
  }

  /** The photo cache's key of an image; an image without a sha256 is a photo of its own. */
  private static String photoKey(ProductImage image, String key) {
    return cacheable(image.getSha256()) ? image.getSha256() : "\0" + key;
  }

  private static boolean cacheable(String sha256) {
    return sha256 != null && !sha256.isBlank();
  }

  /** The vector of a photo, from the global store or, before it has caught up, this instance. */
  private float[] cached(String sha256) {
    if (!cacheable(sha256)) {
      return null;
    }
    byte[] stored = photoCache.get(sha256);
    if (stored != null && stored.length == 4 * embedder.model().dimension()) {
      return decodeVector(stored);
    }
    return recent.get(sha256);
  }

  /**
   * Writes a newly inferred vector to the photo cache topic, and keeps it until it is read back.
   */
  private void remember(String sha256, float[] vector, long timestamp) {
    if (!cacheable(sha256)) {
      return;
    }
    recent.put(sha256, vector);
    ByteBuffer b = ByteBuffer.allocate(4 * vector.length);
    b.asFloatBuffer().put(vector);
    context.forward(
        new Record<>(sha256.getBytes(StandardCharsets.UTF_8), b.array(), timestamp),
        PHOTO_CACHE_OUT);
  }

  static float[] decodeVector(byte[] bytes) {
    float[] vector = new float[bytes.length / 4];
    ByteBuffer.wrap(bytes).asFloatBuffer().get(vector);
    return vector;
  }

  private static byte[] toArray(ByteBuffer buffer) {
    byte[] out = new byte[buffer.remaining()];
    buffer.duplicate().get(out);
    return out;
  }

  private void unbuffer(String key) {
    if (buffer.delete(key) != null) {
      buffered--;
      if (buffered == 0) {
        oldestBufferedAt = Long.MAX_VALUE;
      }
    }
  }

  private void forwardEmbedding(byte[] key, ProductImage image, float[] vector, long timestamp) {
    List<Float> values = new ArrayList<>(vector.length);
    for (float x : vector) {
      values.add(x);
    }
    ImageEmbedding embedding =
        ImageEmbedding.newBuilder()
            .setProductId(image.getProductId())
            .setImageId(image.getImageId())
            .setModelId(embedder.model().modelId())
            .setVector(values)
            .setSha256(image.getSha256())
            .setVersion(image.getVersion())
            .setPosition(image.getPosition())
            .setSourceUrl(image.getSourceUrl())
            .setOccurredAt(image.getOccurredAt())
            .setEmbeddedAt(java.time.Instant.ofEpochMilli(context.currentSystemTimeMs()))
            .setProduct(image.getProduct())
            .build();
    context.forward(
        new Record<>(key, embeddings.serialize(embeddingsTopic, embedding), timestamp), OUT);
  }

  private void deadLetter(
      byte[] key,
      byte[] value,
      long timestamp,
      String reasonCode,
      String reason,
      Throwable error,
      DeadLetters.Source source) {
    log.warn(
        "Dead-lettering {} from {}-{}@{}: {} ({})",
        key == null ? null : new String(key, StandardCharsets.UTF_8),
        source.topic(),
        source.partition(),
        source.offset(),
        reasonCode,
        reason);
    var headers =
        DeadLetters.record(deadLetterTopic, key, value, STAGE, reasonCode, reason, error, source)
            .headers();
    context.forward(new Record<>(key, value, timestamp, new RecordHeaders(headers.toArray())), OUT);
    registry
        .counter(
            "lookalike.embedder.rejected",
            "reason",
            reasonCode,
            "model",
            embedder.model().modelId())
        .increment();
  }

  /**
   * The vectors this instance inferred that the global store may not have read back yet (it reads
   * committed records only, a commit interval or more later): shared by the instance's tasks,
   * bounded, least recently used first out. An entry leaves once the global store has read it back
   * (or read a tombstone for it: an erased photo is erased here too).
   */
  static final class RecentVectors {

    /**
     * The global store trails by about a commit interval (100 ms under exactly-once): this is far
     * more photos than an instance infers in that time, and at most ~20 MB of 1280-d vectors.
     */
    static final int MAX_ENTRIES = 4096;

    private final Map<String, float[]> map =
        new LinkedHashMap<>(256, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, float[]> eldest) {
            return size() > MAX_ENTRIES;
          }
        };

    synchronized float[] get(String sha256) {
      return map.get(sha256);
    }

    synchronized void put(String sha256, float[] vector) {
      map.put(sha256, vector);
    }

    synchronized void remove(String sha256) {
      map.remove(sha256);
    }
  }

  /** A buffered record: when it arrived, its timestamp and offset, and its original value. */
  record Pending(long bufferedAt, long timestamp, int partition, long offset, byte[] value) {

    byte[] encode() {
      return ByteBuffer.allocate(28 + value.length)
          .putLong(bufferedAt)
          .putLong(timestamp)
          .putInt(partition)
          .putLong(offset)
          .put(value)
          .array();
    }

    static Pending decode(byte[] bytes) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      long bufferedAt = b.getLong();
      long timestamp = b.getLong();
      int partition = b.getInt();
      long offset = b.getLong();
      byte[] value = new byte[b.remaining()];
      b.get(value);
      return new Pending(bufferedAt, timestamp, partition, offset, value);
    }
  }

  /** The last embedded image of a key. */
  record Known(String sha256, float[] vector) {

    byte[] encode() {
      byte[] sha = sha256.getBytes(StandardCharsets.UTF_8);
      ByteBuffer b =
          ByteBuffer.allocate(4 + sha.length + 4 * vector.length).putInt(sha.length).put(sha);
      b.asFloatBuffer().put(vector);
      return b.array();
    }

    static Known decode(byte[] bytes) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      byte[] sha = new byte[b.getInt()];
      b.get(sha);
      float[] vector = new float[b.remaining() / 4];
      b.asFloatBuffer().get(vector);
      return new Known(new String(sha, StandardCharsets.UTF_8), vector);
    }
  }
}
