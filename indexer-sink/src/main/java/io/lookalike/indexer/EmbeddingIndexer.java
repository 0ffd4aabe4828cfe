package io.lookalike.indexer;

import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.Price;
import io.lookalike.schemas.ProductAvailability;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes embedding records to a {@link VectorStore}: checks them, turns them into {@link
 * StoredImage}s, keeps the last record per key of a batch and counts what happened. Shared by the
 * embedded {@link EmbeddingSink} and the Kafka Connect sink task.
 */
public final class EmbeddingIndexer {

  private static final Logger log = LoggerFactory.getLogger(EmbeddingIndexer.class);

  public static final String UPSERTS_METRIC = "lookalike.indexer.upserts";
  public static final String DELETES_METRIC = "lookalike.indexer.deletes";
  public static final String STALE_METRIC = "lookalike.indexer.stale";
  public static final String REJECTED_METRIC = "lookalike.indexer.rejected";
  public static final String WRITE_METRIC = "lookalike.indexer.write";
  public static final String FRESHNESS_METRIC = "lookalike.freshness";
  public static final String REPLAYED_METRIC = "lookalike.indexer.replayed";

  /**
   * Freshness buckets besides Micrometer's defaults, so that an SLO such as "99 % of changes
   * searchable within 2 s" is a ratio of two series ({@code le="2.0"} over {@code _count}).
   */
  static final Duration[] FRESHNESS_SLO_BUCKETS = {
    Duration.ofMillis(250),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofSeconds(2),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(30),
    Duration.ofSeconds(60)
  };

  /**
   * One record of the embeddings topic: an embedding, or a tombstone ({@code embedding == null}).
   */
  public record Change(ImageKey key, ImageEmbedding embedding) {
    public Change {
      Objects.requireNonNull(key, "key");
    }
  }

  /** Why a record cannot be indexed: a stable code for metrics and dead letters, and a sentence. */
  public record Rejection(String code, String reason) {}

  private final VectorStore store;
  private final MeterRegistry registry;
  private final Counter upserts;
  private final Counter deletes;
  private final Counter stale;
  private final Timer writes;
  private final Timer freshness;
  private final Counter replayed;
  private final long liveSinceMillis;

  /** Every indexed change counts as freshness (a sink that is not replaying history). */
  public EmbeddingIndexer(VectorStore store, MeterRegistry registry) {
    this(store, registry, null);
  }

  /**
   * @param liveSince when this index started following the catalog (its model's registration):
   *     changes that happened before it are a replay of history, counted in {@code
   *     lookalike.indexer.replayed} as replay progress and not as freshness, so a re-embed does not
   *     set off a freshness alert; null: every change counts as freshness
   */
  public EmbeddingIndexer(VectorStore store, MeterRegistry registry, Instant liveSince) {
    this.liveSinceMillis = liveSince == null ? Long.MIN_VALUE : liveSince.toEpochMilli();
    this.store = Objects.requireNonNull(store, "store");
    this.registry = Objects.requireNonNull(registry, "registry");
    String model = store.modelId();
    upserts =
        Counter.builder(UPSERTS_METRIC)
            .tag("model", model)
            .description("Images written to the vector store")
            .register(registry);
    deletes =
        Counter.builder(DELETES_METRIC)
            .tag("model", model)
            .description("Images removed from the vector store")
            .register(registry);
    stale =
        Counter.builder(STALE_METRIC)
            .tag("model", model)
            .description("Upserts skipped because the store holds a newer version")
            .register(registry);
    writes =
        Timer.builder(WRITE_METRIC)
            .tag("model", model)
            .description("Time to make one batch searchable (durable at the next flush)")
            .register(registry);
    freshness =
        Timer.builder(FRESHNESS_METRIC)
            .tag("model", model)
            .description(
                "From a product's catalog change (occurredAt) to its images being searchable, once"
                    + " per product and batch; replayed history is not counted")
            .publishPercentileHistogram()
            .serviceLevelObjectives(FRESHNESS_SLO_BUCKETS)
            .publishPercentiles(0.5, 0.95, 0.99)
            .maximumExpectedValue(Duration.ofHours(1))
            .register(registry);
    replayed =
        Counter.builder(REPLAYED_METRIC)
            .tag("model", model)
            .description(
                "Images indexed from a replay (their change predates the model's registration):"
                    + " replay progress, not freshness")
            .register(registry);
  }

  public VectorStore store() {
    return store;
  }

  /** Why this embedding cannot go into the store, or null if it can. */
  public Rejection check(ImageKey key, ImageEmbedding embedding) {
    if (!store.modelId().equals(embedding.getModelId())) {
      return new Rejection(
          "wrong_model",
          "Embedding of model "
              + embedding.getModelId()
              + " on the topic of model "
              + store.modelId());
    }
    if (embedding.getVector().size() != store.dimension()) {
      return new Rejection(
          "wrong_dimension",
          "Vector of "
              + embedding.getVector().size()
              + " dimensions, the index of model "
              + store.modelId()
              + " holds "
              + store.dimension());
    }
    if (!key.productId().equals(embedding.getProductId())
        || !key.imageId().equals(embedding.getImageId())) {
      return new Rejection(
          "key_mismatch",
          "Record key "
              + key
              + " does not match the embedding's ids "
              + embedding.getProductId()
              + "/"
              + embedding.getImageId());
    }
    double norm = 0;
    for (Float value : embedding.getVector()) {
      if (value == null || !Float.isFinite(value)) {
        return new Rejection("bad_vector", "Vector holds a value that is not a finite number");
      }
      norm += value * value;
    }
    if (norm == 0) {
      return new Rejection("bad_vector", "Vector is all zeros; cosine similarity is undefined");
    }
    return null;
  }

  /** Counts a record that was dead-lettered instead of indexed. */
  public void rejected(String code) {
    Counter.builder(REJECTED_METRIC)
        .tag("model", store.modelId())
        .tag("reason", code)
        .description("Records dead-lettered instead of indexed")
        .register(registry)
        .increment();
  }

  /**
   * Applies the changes in order (the last change per key wins) and returns once they are
   * searchable; they are durable after the store's next {@link VectorStore#flush}, which the caller
   * calls before it commits their offsets. The changes must have passed {@link #check}.
   */
  public VectorStore.WriteResult index(List<Change> changes) {
    Map<ImageKey, Change> last = new LinkedHashMap<>();
    for (Change change : changes) {
      last.remove(change.key()); // keep the order of the last occurrence
      last.put(change.key(), change);
    }
    List<StoredImage> toUpsert = new ArrayList<>();
    List<ImageKey> toDelete = new ArrayList<>();
    for (Change change : last.values()) {
      if (change.embedding() == null) {
        toDelete.add(change.key());
      } else {
        toUpsert.add(toStoredImage(change.key(), change.embedding()));
      }
    }
    if (toUpsert.isEmpty() && toDelete.isEmpty()) {
      return new VectorStore.WriteResult(0, 0, 0);
    }
    long start = System.nanoTime();
    VectorStore.WriteResult result = store.write(toUpsert, toDelete);
    writes.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
    long visibleAt = System.currentTimeMillis();
    // Per product: a change is searchable when its last image is (within this batch).
    Map<String, Long> oldestChange = new LinkedHashMap<>();
    for (StoredImage image : toUpsert) {
      if (image.occurredAtMillis() < liveSinceMillis) {
        replayed.increment();
      } else {
        oldestChange.merge(image.productId(), image.occurredAtMillis(), Math::min);
      }
    }
    for (long occurredAt : oldestChange.values()) {
      freshness.record(Math.max(0, visibleAt - occurredAt), TimeUnit.MILLISECONDS);
    }
    upserts.increment(result.upserted());
    deletes.increment(result.deleted());
    stale.increment(result.skippedStale());
    return result;
  }

  /** The stored form of an embedding record. */
  public static StoredImage toStoredImage(ImageKey key, ImageEmbedding embedding) {
    List<Float> values = embedding.getVector();
    float[] vector = new float[values.size()];
    for (int i = 0; i < vector.length; i++) {
      vector[i] = values.get(i);
    }
    ProductMetadata product = embedding.getProduct();
    Price price = product == null ? null : product.getPrice();
    return new StoredImage(
        key,
        vector,
        embedding.getVersion(),
        embedding.getSha256(),
        embedding.getPosition(),
        embedding.getSourceUrl(),
        embedding.getOccurredAt().toEpochMilli(),
        embedding.getEmbeddedAt().toEpochMilli(),
        product == null ? null : product.getTitle(),
        product == null ? null : product.getBrand(),
        product == null ? null : product.getCategory(),
        price == null ? null : price.getAmount(),
        price == null ? null : price.getCurrency(),
        product == null ? null : availability(key, product.getAvailability()),
        product == null || product.getAttributes() == null
            ? Map.of()
            : Map.copyOf(product.getAttributes()));
  }

  /**
   * The catalog's availability in the one vocabulary of {@link ProductAvailability}, whatever way
   * the product came in (a Kafka producer may write "in-stock"); a value outside it is kept as
   * UNKNOWN.
   */
  static String availability(ImageKey key, String value) {
    if (value == null) {
      return null;
    }
    return ProductAvailability.parse(value)
        .orElseGet(
            () -> {
              log.warn(
                  "Image {} has availability '{}', not one of {}: indexed as {}",
                  key,
                  value,
                  ProductAvailability.ORDERED,
                  ProductAvailability.UNKNOWN);
              return ProductAvailability.UNKNOWN;
            });
  }
}
