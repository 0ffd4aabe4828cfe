package io.lookalike.store.milvus;

import static io.lookalike.store.milvus.MilvusSchema.KEY;
import static io.lookalike.store.milvus.MilvusSchema.OUTPUT_FIELDS;
import static io.lookalike.store.milvus.MilvusSchema.VECTOR;
import static io.lookalike.store.milvus.MilvusSchema.VERSION;

import com.google.gson.JsonObject;
import io.lookalike.schemas.ImageKey;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import io.lookalike.store.VersionedWrites;
import io.milvus.v2.client.MilvusClientV2;
import io.milvus.v2.common.ConsistencyLevel;
import io.milvus.v2.common.IndexParam;
import io.milvus.v2.service.collection.response.DescribeCollectionResp;
import io.milvus.v2.service.vector.request.DeleteReq;
import io.milvus.v2.service.vector.request.QueryReq;
import io.milvus.v2.service.vector.request.SearchReq;
import io.milvus.v2.service.vector.request.UpsertReq;
import io.milvus.v2.service.vector.request.data.EmbeddedText;
import io.milvus.v2.service.vector.request.data.FloatVec;
import io.milvus.v2.service.vector.response.QueryResp;
import io.milvus.v2.service.vector.response.SearchResp;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The vector store at scale: one Milvus collection per model ({@code <prefix><modelId>}), created
 * on demand with an explicit schema and a COSINE vector index, and an alias that the gateway
 * searches so that a re-embed can switch models atomically ({@link #activate()}).
 *
 * <p>Freshness: {@link #write} returns once Milvus has acknowledged the upserts and deletes, i.e.
 * they are in its write-ahead log (durable; we do not flush, which only seals segments and is
 * costly). Whether a search sees them at once depends on {@code milvus.consistency.level}: with
 * STRONG it does (the search waits until the query nodes have caught up with the time of the
 * request); with BOUNDED, Milvus's default, it may miss writes of the last staleness window (a few
 * seconds, {@code common.gracefulTime}, 5 s by default); with SESSION only this client's own writes
 * are guaranteed visible; EVENTUALLY guarantees nothing. See https://milvus.io/docs/consistency.md
 * and tune_consistency.md.
 *
 * <p>The parts: {@link MilvusSchema} (fields, schema, indexes), {@link MilvusCollections} (DDL and
 * the alias), {@link MilvusRows} (row mapping), {@link MilvusCalls} (the retry policy); this class
 * holds the guarded writes and the reads.
 */
public final class MilvusVectorStore implements VectorStore {

  private static final Logger log = LoggerFactory.getLogger(MilvusVectorStore.class);

  public static final int MAX_DIMENSION = 32_768;

  /**
   * Collection property naming the TorchScript model (URL or path) whose vectors the collection
   * holds, so that a gateway following the alias can load the same model; empty or absent: the
   * bundled default.
   */
  public static final String MODEL_URL_PROPERTY = "lookalike.model.url";

  /**
   * Where the alias points: the collection, its model and dimension, and the collection's
   * properties.
   */
  public record AliasTarget(
      String alias,
      String collection,
      String modelId,
      int dimension,
      Map<String, String> properties) {
    /**
     * The model's URL or path from {@link #MODEL_URL_PROPERTY}; empty when not recorded (the
     * bundled default).
     */
    public String modelUrl() {
      return properties.getOrDefault(MODEL_URL_PROPERTY, "");
    }
  }

  private static final String COUNT = "count(*)";

  private final MilvusClientV2 client;
  private final MilvusConfig config;
  private final MilvusCollections collections;
  private final String collection;
  private final String target;
  private final String modelId;
  private final int dimension;
  private final ConsistencyLevel consistency;

  /** Whether the collection has full-text search (one created before it has not). */
  private final boolean text;

  /** Whether closing this closes the client: false for a {@link #strong()} view. */
  private final boolean owner;

  private MilvusVectorStore(
      MilvusClientV2 client,
      MilvusConfig config,
      String collection,
      String target,
      String modelId,
      int dimension,
      boolean text) {
    this(client, config, collection, target, modelId, dimension, text, config.consistencyLevel());
  }

  private MilvusVectorStore(
      MilvusClientV2 client,
      MilvusConfig config,
      String collection,
      String target,
      String modelId,
      int dimension,
      boolean text,
      ConsistencyLevel consistency) {
    this.owner = consistency == config.consistencyLevel();
    this.client = client;
    this.config = config;
    this.collections = new MilvusCollections(client, config);
    this.collection = collection;
    this.target = target;
    this.modelId = modelId;
    this.dimension = dimension;
    this.consistency = consistency;
    this.text = text;
  }

  /**
   * Opens the collection of one model, creating it (schema, index, load) when missing. Fails if it
   * exists with another dimension.
   */
  public static MilvusVectorStore open(MilvusConfig config, String modelId, int dimension) {
    return open(config, modelId, dimension, Map.of());
  }

  /**
   * Like {@link #open(MilvusConfig, String, int)}, and sets {@code properties} on the collection
   * (at creation, or by altering an existing one whose properties differ), e.g. {@link
   * #MODEL_URL_PROPERTY}.
   */
  public static MilvusVectorStore open(
      MilvusConfig config, String modelId, int dimension, Map<String, String> properties) {
    if (modelId == null || !modelId.matches("[a-z0-9_]+")) {
      throw new IllegalArgumentException(
          "modelId must hold only lowercase letters, digits and '_': " + modelId);
    }
    VersionedWrites.checkDimension(dimension, MAX_DIMENSION);
    String collection = config.collectionPrefix() + modelId;
    MilvusClientV2 client = connect(config);
    try {
      boolean text =
          new MilvusCollections(client, config).ensure(collection, modelId, dimension, properties);
      return new MilvusVectorStore(
          client, config, collection, collection, modelId, dimension, text);
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
  }

  /**
   * Opens the collection that {@code milvus.alias} points at, as the gateway does: searches go
   * through the alias, so {@link #activate()} on another model's store switches them at once. The
   * model and dimension are those of the collection the alias points at when opened; reopen after a
   * switch to a new model.
   */
  public static MilvusVectorStore openAlias(MilvusConfig config) {
    MilvusClientV2 client = connect(config);
    try {
      MilvusCollections collections = new MilvusCollections(client, config);
      String alias = config.alias();
      String collection = collections.aliased();
      DescribeCollectionResp description = collections.describe(collection);
      int dimension = MilvusSchema.vectorDimension(description);
      String modelId = modelOf(config, collection);
      boolean text = MilvusSchema.hasText(description);
      log.info(
          "Searching Milvus alias {} -> collection {} (model {}, {} dimensions, {})",
          alias,
          collection,
          modelId,
          dimension,
          text ? "full-text search" : "no full-text search");
      return new MilvusVectorStore(client, config, collection, alias, modelId, dimension, text);
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
  }

  private static String modelOf(MilvusConfig config, String collection) {
    String prefix = config.collectionPrefix();
    return collection.startsWith(prefix) ? collection.substring(prefix.length()) : collection;
  }

  /**
   * Where {@code milvus.alias} points now, asked through this store's connection (cheap enough to
   * poll): a gateway follows it to switch models.
   */
  public AliasTarget aliasTarget() {
    return target(config, collections, collections.aliased());
  }

  /** Where the alias points: {@code aliased}, its model, dimension and properties. */
  static AliasTarget target(MilvusConfig config, MilvusCollections collections, String aliased) {
    DescribeCollectionResp description = collections.describe(aliased);
    Map<String, String> properties =
        description.getProperties() == null ? Map.of() : Map.copyOf(description.getProperties());
    return new AliasTarget(
        config.alias(),
        aliased,
        modelOf(config, aliased),
        MilvusSchema.vectorDimension(description),
        properties);
  }

  /**
   * Drops this model's collection and its vectors. Refused while the alias points at it: switch
   * first.
   */
  public void drop() {
    collections.drop(collection);
  }

  /** The dimension of the collection of {@code modelId}, or empty when it does not exist yet. */
  public static OptionalInt existingDimension(MilvusConfig config, String modelId) {
    String collection = config.collectionPrefix() + modelId;
    MilvusClientV2 client = connect(config);
    try {
      MilvusCollections collections = new MilvusCollections(client, config);
      if (!collections.exists(collection)) {
        return OptionalInt.empty();
      }
      return OptionalInt.of(MilvusSchema.vectorDimension(collections.describe(collection)));
    } finally {
      client.close();
    }
  }

  /**
   * Points the alias at this model's collection if the alias does not exist yet (a first
   * deployment), and leaves it alone otherwise: switching an existing alias is {@link #activate()},
   * a deliberate step.
   */
  public boolean activateIfUnset() {
    if (collections.aliasedOrNull() != null) {
      return false;
    }
    activate();
    return true;
  }

  static MilvusClientV2 connect(MilvusConfig config) {
    try {
      MilvusClientV2 client = new MilvusClientV2(config.connectConfig());
      client.retryConfig(config.retryConfig());
      return client;
    } catch (RuntimeException e) { // the SDK throws raw gRPC errors from its constructor
      throw new MilvusStoreException(
          "Cannot connect to Milvus at " + config.uri() + ": " + e.getMessage(), true, e);
    }
  }

  /** The collection of this store's model. */
  public String collectionName() {
    return collection;
  }

  /**
   * Points the alias ({@code milvus.alias}) at this model's collection: searches switch to it
   * atomically.
   */
  public void activate() {
    collections.activate(collection);
  }

  @Override
  public String modelId() {
    return modelId;
  }

  @Override
  public int dimension() {
    return dimension;
  }

  /**
   * Upserts and deletes with the version guard: first one query reads the stored versions of the
   * batch's keys (with STRONG consistency, so that it sees every earlier write), then older upserts
   * are skipped.
   *
   * <p>The read and the upsert are not atomic: a second writer could store a newer version of a key
   * in between and have it overwritten by our older one. The pipeline never has two writers of one
   * key at once: the embeddings topic is keyed by productId/imageId, each partition is consumed by
   * one sink task (Connect) or one consumer of the group, and a task writes its batches one after
   * the other, so the versions of a key reach Milvus in order. (A task that lost its partition in a
   * rebalance while still writing is the one gap; the next record of that key repairs it.)
   */
  @Override
  public WriteResult write(Collection<StoredImage> upserts, Collection<ImageKey> deletes) {
    LinkedHashSet<String> keys = new LinkedHashSet<>();
    upserts.forEach(image -> keys.add(image.key().toString()));
    deletes.forEach(key -> keys.add(key.toString()));
    if (keys.isEmpty()) {
      return new WriteResult(0, 0, 0);
    }
    Map<String, Long> stored = storedVersions(new ArrayList<>(keys));
    VersionedWrites plan = VersionedWrites.plan(upserts, deletes, stored::get, dimension, modelId);
    List<String> toDelete = plan.deletes().stream().map(ImageKey::toString).toList();
    for (List<StoredImage> chunk : chunks(new ArrayList<>(plan.upserts()))) {
      List<JsonObject> rows = chunk.stream().map(image -> MilvusRows.toRow(image, text)).toList();
      call(
          "upsert of " + rows.size() + " rows",
          () -> client.upsert(UpsertReq.builder().collectionName(target).data(rows).build()));
    }
    for (List<String> chunk : chunks(toDelete)) {
      MilvusExpressions.Expression in = MilvusExpressions.keyIn(chunk);
      call(
          "delete of " + chunk.size() + " keys",
          () ->
              client.delete(
                  DeleteReq.builder()
                      .collectionName(target)
                      .filter(in.text())
                      .filterTemplateValues(in.values())
                      .build()));
    }
    return plan.result();
  }

  @Override
  public List<SearchHit> search(float[] query, int k, SearchFilter filter) {
    checkDimension(query);
    if (k < 1) {
      throw new IllegalArgumentException("k must be positive: " + k);
    }
    MilvusExpressions.Expression expression = MilvusExpressions.of(filter);
    Map<String, Object> params = new LinkedHashMap<>(config.searchParams());
    if (params.get("ef") instanceof Number ef && ef.longValue() < k) {
      params.put("ef", k); // HNSW needs ef >= k
    }
    SearchReq.SearchReqBuilder request =
        SearchReq.builder()
            .collectionName(target)
            .annsField(VECTOR)
            .metricType(IndexParam.MetricType.COSINE)
            .data(List.of(new FloatVec(query)))
            .limit(k)
            .searchParams(params)
            .outputFields(OUTPUT_FIELDS)
            .consistencyLevel(consistency);
    if (!expression.text().isEmpty()) {
      request.filter(expression.text()).filterTemplateValues(expression.values());
    }
    return hits(call("search", () -> client.search(request.build())));
  }

  /**
   * Milvus full-text search: the query text goes to the collection's BM25 function, which analyses
   * it as it analysed the stored text, and the sparse inverted index ranks by BM25. A collection
   * created before full-text search has no text field: {@link UnsupportedOperationException}.
   */
  @Override
  public List<SearchHit> searchText(String query, int k, SearchFilter filter) {
    if (k < 1) {
      throw new IllegalArgumentException("k must be positive: " + k);
    }
    if (!text) {
      throw new UnsupportedOperationException(
          "Milvus collection "
              + collection
              + " was created before full-text search (it has no '"
              + MilvusSchema.TEXT
              + "' field): re-embed into a new collection (lookalike reembed --store milvus) to"
              + " search it by text");
    }
    if (query == null || query.isBlank()) {
      return List.of();
    }
    MilvusExpressions.Expression expression = MilvusExpressions.of(filter);
    SearchReq.SearchReqBuilder request =
        SearchReq.builder()
            .collectionName(target)
            .annsField(MilvusSchema.TEXT_SPARSE)
            .metricType(IndexParam.MetricType.BM25)
            .data(List.of(new EmbeddedText(query)))
            .limit(k)
            .outputFields(OUTPUT_FIELDS)
            .consistencyLevel(consistency);
    if (!expression.text().isEmpty()) {
      request.filter(expression.text()).filterTemplateValues(expression.values());
    }
    return hits(call("text search", () -> client.search(request.build())));
  }

  private static List<SearchHit> hits(SearchResp response) {
    List<SearchHit> hits = new ArrayList<>();
    if (!response.getSearchResults().isEmpty()) {
      for (SearchResp.SearchResult result : response.getSearchResults().get(0)) {
        hits.add(new SearchHit(MilvusRows.fromEntity(result.getEntity()), result.getScore()));
      }
    }
    return hits;
  }

  @Override
  public List<StoredImage> imagesOf(String productId) {
    MilvusExpressions.Expression expression = MilvusExpressions.productIs(productId);
    List<StoredImage> images =
        new ArrayList<>(
            query(expression, OUTPUT_FIELDS, consistency, 1_000).stream()
                .map(MilvusRows::fromEntity)
                .toList());
    images.sort(Comparator.comparingInt(StoredImage::position).thenComparing(StoredImage::imageId));
    return images;
  }

  @Override
  public Optional<StoredImage> get(ImageKey key) {
    return query(MilvusExpressions.keyIn(List.of(key.toString())), OUTPUT_FIELDS, consistency, 1)
        .stream()
        .findFirst()
        .map(MilvusRows::fromEntity);
  }

  /**
   * Up to {@code n} stored images with their vectors: one query with a limit over the whole
   * collection. Milvus answers the rows in its own (segment) order, so the sample is the first
   * {@code n} rows Milvus returns, not a spread over the index as Lucene's is.
   */
  @Override
  public List<StoredImage> sample(int n) {
    if (n <= 0) {
      return List.of();
    }
    return query(MilvusExpressions.Expression.ALL, OUTPUT_FIELDS, consistency, n).stream()
        .map(MilvusRows::fromEntity)
        .toList();
  }

  @Override
  public long count() {
    QueryResp response =
        call(
            "count",
            () ->
                client.query(
                    QueryReq.builder()
                        .collectionName(target)
                        .filter("")
                        .outputFields(List.of(COUNT))
                        .consistencyLevel(consistency)
                        .build()));
    return ((Number) response.getQueryResults().get(0).getEntity().get(COUNT)).longValue();
  }

  /**
   * The same collection (or alias) read and searched at STRONG consistency: each call waits until
   * the query nodes have applied every write acknowledged before it, whatever {@code
   * milvus.consistency.level} says. Shares this store's client; closing it does nothing.
   */
  @Override
  public MilvusVectorStore strong() {
    if (consistency == ConsistencyLevel.STRONG) {
      return this;
    }
    return new MilvusVectorStore(
        client, config, collection, target, modelId, dimension, text, ConsistencyLevel.STRONG);
  }

  @Override
  public void close() {
    if (owner) {
      client.close();
    }
  }

  @Override
  public String toString() {
    return "MilvusVectorStore["
        + config.uri()
        + ", "
        + target
        + (target.equals(collection) ? "" : " -> " + collection)
        + "]";
  }

  private Map<String, Long> storedVersions(List<String> keys) {
    Map<String, Long> versions = new HashMap<>();
    for (List<String> chunk : chunks(keys)) {
      // STRONG: the guard must see the writes of the previous batch, even those of a moment ago.
      for (Map<String, Object> row :
          query(
              MilvusExpressions.keyIn(chunk),
              List.of(KEY, VERSION),
              ConsistencyLevel.STRONG,
              chunk.size())) {
        versions.put((String) row.get(KEY), ((Number) row.get(VERSION)).longValue());
      }
    }
    return versions;
  }

  private List<Map<String, Object>> query(
      MilvusExpressions.Expression expression,
      List<String> fields,
      ConsistencyLevel level,
      long limit) {
    QueryResp response =
        call(
            "query",
            () ->
                client.query(
                    QueryReq.builder()
                        .collectionName(target)
                        .filter(expression.text())
                        .filterTemplateValues(expression.values())
                        .outputFields(fields)
                        .limit(limit)
                        .consistencyLevel(level)
                        .build()));
    return response.getQueryResults().stream().map(QueryResp.QueryResult::getEntity).toList();
  }

  private <T> List<List<T>> chunks(List<T> items) {
    int size = config.writeBatchSize();
    List<List<T>> chunks = new ArrayList<>();
    for (int i = 0; i < items.size(); i += size) {
      chunks.add(items.subList(i, Math.min(items.size(), i + size)));
    }
    return chunks;
  }

  private void checkDimension(float[] vector) {
    VersionedWrites.checkVector(vector, dimension, modelId);
  }

  private <T> T call(String what, Supplier<T> call) {
    return new MilvusCalls(config, what + " on " + target).run(call);
  }
}
