package io.lookalike.store.milvus;

import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import io.lookalike.schemas.ImageKey;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import io.lookalike.store.VersionedWrites;
import io.milvus.shaded.io.grpc.Status;
import io.milvus.shaded.io.grpc.StatusRuntimeException;
import io.milvus.v2.client.MilvusClientV2;
import io.milvus.v2.common.ConsistencyLevel;
import io.milvus.v2.common.DataType;
import io.milvus.v2.common.IndexParam;
import io.milvus.v2.exception.ErrorCode;
import io.milvus.v2.exception.MilvusClientException;
import io.milvus.v2.service.collection.request.AddFieldReq;
import io.milvus.v2.service.collection.request.AlterCollectionPropertiesReq;
import io.milvus.v2.service.collection.request.CreateCollectionReq;
import io.milvus.v2.service.collection.request.DescribeCollectionReq;
import io.milvus.v2.service.collection.request.DropCollectionReq;
import io.milvus.v2.service.collection.request.GetLoadStateReq;
import io.milvus.v2.service.collection.request.HasCollectionReq;
import io.milvus.v2.service.collection.request.LoadCollectionReq;
import io.milvus.v2.service.collection.response.DescribeCollectionResp;
import io.milvus.v2.service.utility.request.AlterAliasReq;
import io.milvus.v2.service.utility.request.CreateAliasReq;
import io.milvus.v2.service.utility.request.DescribeAliasReq;
import io.milvus.v2.service.vector.request.DeleteReq;
import io.milvus.v2.service.vector.request.QueryReq;
import io.milvus.v2.service.vector.request.SearchReq;
import io.milvus.v2.service.vector.request.UpsertReq;
import io.milvus.v2.service.vector.request.data.FloatVec;
import io.milvus.v2.service.vector.response.QueryResp;
import io.milvus.v2.service.vector.response.SearchResp;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
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
 */
public final class MilvusVectorStore implements VectorStore {

  private static final Logger log = LoggerFactory.getLogger(MilvusVectorStore.class);

  static final String KEY = "key";
  static final String PRODUCT_ID = "productId";
  static final String VECTOR = "vector";
  static final String VERSION = "version";
  static final String OCCURRED_AT = "occurredAt";
  static final String EMBEDDED_AT = "embeddedAt";
  static final String SHA256 = "sha256";
  static final String POSITION = "position";
  static final String SOURCE_URL = "sourceUrl";
  static final String TITLE = "title";
  static final String BRAND = "brand";
  static final String CATEGORY = "category";
  static final String PRICE = "price";
  static final String CURRENCY = "currency";
  static final String AVAILABILITY = "availability";
  static final String ATTRIBUTES = "attributes";

  /** Trimmed, lower-case copies of the filterable strings: Milvus expressions have no lower(). */
  static final String BRAND_KEY = "brand_key";

  static final String CATEGORY_KEY = "category_key";
  static final String AVAILABILITY_KEY = "availability_key";

  /**
   * Longest VARCHARs, in bytes; longer optional strings are cut so that one record cannot fail a
   * batch.
   */
  static final int KEY_MAX_BYTES = 2048;

  static final int SHORT_MAX_BYTES = 256;
  static final int LONG_MAX_BYTES = 4096;
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

  private static final List<String> OUTPUT_FIELDS =
      List.of(
          KEY,
          VECTOR,
          VERSION,
          OCCURRED_AT,
          EMBEDDED_AT,
          SHA256,
          POSITION,
          SOURCE_URL,
          TITLE,
          BRAND,
          CATEGORY,
          PRICE,
          CURRENCY,
          AVAILABILITY,
          ATTRIBUTES);
  private static final String COUNT = "count(*)";

  private final MilvusClientV2 client;
  private final MilvusConfig config;
  private final String collection;
  private final String target;
  private final String modelId;
  private final int dimension;
  private final ConsistencyLevel consistency;

  private MilvusVectorStore(
      MilvusClientV2 client,
      MilvusConfig config,
      String collection,
      String target,
      String modelId,
      int dimension) {
    this.client = client;
    this.config = config;
    this.collection = collection;
    this.target = target;
    this.modelId = modelId;
    this.dimension = dimension;
    this.consistency = config.consistencyLevel();
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
      MilvusVectorStore store =
          new MilvusVectorStore(client, config, collection, collection, modelId, dimension);
      store.ensureCollection(properties);
      return store;
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
      String alias = config.alias();
      String collection =
          new Calls(config, "describe alias " + alias)
              .run(
                  () ->
                      client
                          .describeAlias(DescribeAliasReq.builder().alias(alias).build())
                          .getCollectionName());
      DescribeCollectionResp description =
          new Calls(config, "describe collection " + collection)
              .run(
                  () ->
                      client.describeCollection(
                          DescribeCollectionReq.builder().collectionName(collection).build()));
      int dimension = vectorDimension(description);
      String prefix = config.collectionPrefix();
      String modelId =
          collection.startsWith(prefix) ? collection.substring(prefix.length()) : collection;
      log.info(
          "Searching Milvus alias {} -> collection {} (model {}, {} dimensions)",
          alias,
          collection,
          modelId,
          dimension);
      return new MilvusVectorStore(client, config, collection, alias, modelId, dimension);
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
  }

  /**
   * Where {@code milvus.alias} points now, asked through this store's connection (cheap enough to
   * poll): a gateway follows it to switch models.
   */
  public AliasTarget aliasTarget() {
    String alias = config.alias();
    String target =
        call(
            "describe alias " + alias,
            () ->
                client
                    .describeAlias(DescribeAliasReq.builder().alias(alias).build())
                    .getCollectionName());
    DescribeCollectionResp description =
        call(
            "describe collection " + target,
            () ->
                client.describeCollection(
                    DescribeCollectionReq.builder().collectionName(target).build()));
    String prefix = config.collectionPrefix();
    String model = target.startsWith(prefix) ? target.substring(prefix.length()) : target;
    Map<String, String> properties =
        description.getProperties() == null ? Map.of() : Map.copyOf(description.getProperties());
    return new AliasTarget(alias, target, model, vectorDimension(description), properties);
  }

  /**
   * Drops this model's collection and its vectors. Refused while the alias points at it: switch
   * first.
   */
  public void drop() {
    String current;
    try {
      current =
          client
              .describeAlias(DescribeAliasReq.builder().alias(config.alias()).build())
              .getCollectionName();
    } catch (MilvusClientException e) {
      current = null;
    }
    if (collection.equals(current)) {
      throw new IllegalStateException(
          "Milvus alias "
              + config.alias()
              + " points at "
              + collection
              + ": switch it to another model before dropping this one");
    }
    call(
        "drop collection",
        () -> {
          client.dropCollection(DropCollectionReq.builder().collectionName(collection).build());
          return null;
        });
    log.info("Dropped Milvus collection {}", collection);
  }

  /** The dimension of the collection of {@code modelId}, or empty when it does not exist yet. */
  public static java.util.OptionalInt existingDimension(MilvusConfig config, String modelId) {
    String collection = config.collectionPrefix() + modelId;
    MilvusClientV2 client = connect(config);
    try {
      Calls calls = new Calls(config, "describe collection " + collection);
      if (!calls.run(
          () ->
              client.hasCollection(
                  HasCollectionReq.builder().collectionName(collection).build()))) {
        return java.util.OptionalInt.empty();
      }
      return java.util.OptionalInt.of(
          vectorDimension(
              calls.run(
                  () ->
                      client.describeCollection(
                          DescribeCollectionReq.builder().collectionName(collection).build()))));
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
    try {
      client.describeAlias(DescribeAliasReq.builder().alias(config.alias()).build());
      return false;
    } catch (MilvusClientException e) {
      activate();
      return true;
    }
  }

  private static MilvusClientV2 connect(MilvusConfig config) {
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
    String alias = config.alias();
    String current;
    try {
      current =
          client.describeAlias(DescribeAliasReq.builder().alias(alias).build()).getCollectionName();
    } catch (MilvusClientException e) {
      current = null; // no such alias yet
    }
    if (current == null || current.isEmpty()) {
      call(
          "create alias " + alias,
          () -> {
            client.createAlias(
                CreateAliasReq.builder().collectionName(collection).alias(alias).build());
            return null;
          });
    } else if (!current.equals(collection)) {
      call(
          "alter alias " + alias,
          () -> {
            client.alterAlias(
                AlterAliasReq.builder().collectionName(collection).alias(alias).build());
            return null;
          });
    }
    log.info("Alias {} now points at {} (was {})", alias, collection, current);
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
      List<JsonObject> rows = chunk.stream().map(MilvusVectorStore::toRow).toList();
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
    SearchResp response = call("search", () -> client.search(request.build()));
    List<SearchHit> hits = new ArrayList<>();
    if (!response.getSearchResults().isEmpty()) {
      for (SearchResp.SearchResult result : response.getSearchResults().get(0)) {
        hits.add(new SearchHit(fromEntity(result.getEntity()), result.getScore()));
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
                .map(MilvusVectorStore::fromEntity)
                .toList());
    images.sort(Comparator.comparingInt(StoredImage::position).thenComparing(StoredImage::imageId));
    return images;
  }

  @Override
  public Optional<StoredImage> get(ImageKey key) {
    return query(MilvusExpressions.keyIn(List.of(key.toString())), OUTPUT_FIELDS, consistency, 1)
        .stream()
        .findFirst()
        .map(MilvusVectorStore::fromEntity);
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

  @Override
  public void close() {
    client.close();
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

  private void ensureCollection(Map<String, String> properties) {
    boolean exists =
        call(
            "has collection",
            () ->
                client.hasCollection(
                    HasCollectionReq.builder().collectionName(collection).build()));
    if (!exists) {
      try {
        create(properties);
        log.info(
            "Created Milvus collection {} ({} dimensions, {} {}, consistency {})",
            collection,
            dimension,
            config.indexType(),
            config.indexParams(),
            consistency);
        return;
      } catch (MilvusStoreException e) {
        // Another task may have created it meanwhile; if so, use it.
        if (!call(
            "has collection",
            () ->
                client.hasCollection(
                    HasCollectionReq.builder().collectionName(collection).build()))) {
          throw e;
        }
      }
    }
    DescribeCollectionResp description =
        call(
            "describe collection",
            () ->
                client.describeCollection(
                    DescribeCollectionReq.builder().collectionName(collection).build()));
    int stored = vectorDimension(description);
    if (stored != dimension) {
      throw new IllegalStateException(
          "Milvus collection "
              + collection
              + " holds vectors of "
              + stored
              + " dimensions, not "
              + dimension
              + "; a model change needs a new modelId");
    }
    Map<String, String> current =
        description.getProperties() == null ? Map.of() : description.getProperties();
    if (!properties.isEmpty()
        && !properties.entrySet().stream()
            .allMatch(e -> e.getValue().equals(current.get(e.getKey())))) {
      call(
          "alter collection properties",
          () -> {
            client.alterCollectionProperties(
                AlterCollectionPropertiesReq.builder()
                    .collectionName(collection)
                    .properties(properties)
                    .build());
            return null;
          });
    }
    boolean loaded =
        call(
            "get load state",
            () ->
                client.getLoadState(GetLoadStateReq.builder().collectionName(collection).build()));
    if (!loaded) {
      call(
          "load collection",
          () -> {
            client.loadCollection(LoadCollectionReq.builder().collectionName(collection).build());
            return null;
          });
    }
    log.info(
        "Opened Milvus collection {} ({} dimensions, consistency {})",
        collection,
        dimension,
        consistency);
  }

  private void create(Map<String, String> properties) {
    CreateCollectionReq.CollectionSchema schema =
        CreateCollectionReq.CollectionSchema.builder().build();
    schema.addField(varchar(KEY, KEY_MAX_BYTES, false).isPrimaryKey(true).autoID(false).build());
    schema.addField(varchar(PRODUCT_ID, KEY_MAX_BYTES, false).build());
    schema.addField(
        AddFieldReq.builder()
            .fieldName(VECTOR)
            .dataType(DataType.FloatVector)
            .dimension(dimension)
            .build());
    schema.addField(AddFieldReq.builder().fieldName(VERSION).dataType(DataType.Int64).build());
    schema.addField(AddFieldReq.builder().fieldName(OCCURRED_AT).dataType(DataType.Int64).build());
    schema.addField(AddFieldReq.builder().fieldName(EMBEDDED_AT).dataType(DataType.Int64).build());
    schema.addField(AddFieldReq.builder().fieldName(POSITION).dataType(DataType.Int32).build());
    schema.addField(varchar(SHA256, SHORT_MAX_BYTES, true).build());
    schema.addField(varchar(SOURCE_URL, LONG_MAX_BYTES, true).build());
    schema.addField(varchar(TITLE, LONG_MAX_BYTES, true).build());
    schema.addField(varchar(BRAND, SHORT_MAX_BYTES, true).build());
    schema.addField(varchar(CATEGORY, SHORT_MAX_BYTES, true).build());
    schema.addField(
        AddFieldReq.builder().fieldName(PRICE).dataType(DataType.Double).isNullable(true).build());
    schema.addField(varchar(CURRENCY, SHORT_MAX_BYTES, true).build());
    schema.addField(varchar(AVAILABILITY, SHORT_MAX_BYTES, true).build());
    schema.addField(
        AddFieldReq.builder()
            .fieldName(ATTRIBUTES)
            .dataType(DataType.JSON)
            .isNullable(true)
            .build());
    schema.addField(varchar(BRAND_KEY, SHORT_MAX_BYTES, true).build());
    schema.addField(varchar(CATEGORY_KEY, SHORT_MAX_BYTES, true).build());
    schema.addField(varchar(AVAILABILITY_KEY, SHORT_MAX_BYTES, true).build());
    IndexParam vectorIndex =
        IndexParam.builder()
            .fieldName(VECTOR)
            .indexName(VECTOR + "_index")
            .indexType(config.indexType())
            .metricType(IndexParam.MetricType.COSINE)
            .extraParams(config.indexParams())
            .build();
    call(
        "create collection",
        () -> {
          client.createCollection(
              CreateCollectionReq.builder()
                  .collectionName(collection)
                  .description("Lookalike image vectors of model " + modelId)
                  .collectionSchema(schema)
                  .indexParams(List.of(vectorIndex))
                  .numShards(config.shards())
                  .consistencyLevel(consistency)
                  .properties(new HashMap<>(properties))
                  .build()); // with index params the SDK also builds the index and loads the
          // collection
          return null;
        });
  }

  private static AddFieldReq.AddFieldReqBuilder<?> varchar(
      String name, int maxBytes, boolean nullable) {
    return AddFieldReq.builder()
        .fieldName(name)
        .dataType(DataType.VarChar)
        .maxLength(maxBytes)
        .isNullable(nullable);
  }

  private static int vectorDimension(DescribeCollectionResp description) {
    CreateCollectionReq.FieldSchema field = description.getCollectionSchema().getField(VECTOR);
    if (field == null || field.getDimension() == null) {
      throw new IllegalStateException(
          "Milvus collection "
              + description.getCollectionName()
              + " has no vector field '"
              + VECTOR
              + "': not a Lookalike collection");
    }
    return field.getDimension();
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

  static JsonObject toRow(StoredImage image) {
    JsonObject row = new JsonObject();
    row.addProperty(KEY, image.key().toString());
    row.addProperty(PRODUCT_ID, image.productId());
    com.google.gson.JsonArray vector = new com.google.gson.JsonArray(image.vector().length);
    for (float value : image.vector()) {
      vector.add(value);
    }
    row.add(VECTOR, vector);
    row.addProperty(VERSION, image.version());
    row.addProperty(OCCURRED_AT, image.occurredAtMillis());
    row.addProperty(EMBEDDED_AT, image.embeddedAtMillis());
    row.addProperty(POSITION, image.position());
    row.add(SHA256, text(image.sha256(), SHORT_MAX_BYTES));
    row.add(SOURCE_URL, text(image.sourceUrl(), LONG_MAX_BYTES));
    row.add(TITLE, text(image.title(), LONG_MAX_BYTES));
    row.add(BRAND, text(image.brand(), SHORT_MAX_BYTES));
    row.add(CATEGORY, text(image.category(), SHORT_MAX_BYTES));
    row.add(PRICE, image.price() == null ? JsonNull.INSTANCE : new JsonPrimitive(image.price()));
    row.add(CURRENCY, text(image.currency(), SHORT_MAX_BYTES));
    row.add(AVAILABILITY, text(image.availability(), SHORT_MAX_BYTES));
    JsonObject attributes = new JsonObject();
    if (image.attributes() != null) {
      image.attributes().forEach(attributes::addProperty);
    }
    row.add(ATTRIBUTES, attributes);
    row.add(BRAND_KEY, text(MilvusExpressions.normalise(image.brand()), SHORT_MAX_BYTES));
    row.add(CATEGORY_KEY, text(MilvusExpressions.normalise(image.category()), SHORT_MAX_BYTES));
    row.add(
        AVAILABILITY_KEY, text(MilvusExpressions.normalise(image.availability()), SHORT_MAX_BYTES));
    return row;
  }

  private static JsonElement text(String value, int maxBytes) {
    if (value == null) {
      return JsonNull.INSTANCE;
    }
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= maxBytes) {
      return new JsonPrimitive(value);
    }
    int end = maxBytes;
    while (end > 0 && (bytes[end] & 0xC0) == 0x80) {
      end--; // do not cut a UTF-8 sequence in half
    }
    return new JsonPrimitive(new String(bytes, 0, end, StandardCharsets.UTF_8));
  }

  static StoredImage fromEntity(Map<String, Object> entity) {
    Map<String, String> attributes = new TreeMap<>();
    if (entity.get(ATTRIBUTES) instanceof JsonObject json) {
      json.entrySet()
          .forEach(
              e ->
                  attributes.put(
                      e.getKey(), e.getValue().isJsonNull() ? null : e.getValue().getAsString()));
    }
    Object price = entity.get(PRICE);
    return new StoredImage(
        ImageKey.parse((String) entity.get(KEY)),
        vector(entity.get(VECTOR)),
        ((Number) entity.get(VERSION)).longValue(),
        (String) entity.get(SHA256),
        ((Number) entity.get(POSITION)).intValue(),
        (String) entity.get(SOURCE_URL),
        ((Number) entity.get(OCCURRED_AT)).longValue(),
        ((Number) entity.get(EMBEDDED_AT)).longValue(),
        (String) entity.get(TITLE),
        (String) entity.get(BRAND),
        (String) entity.get(CATEGORY),
        price == null ? null : ((Number) price).doubleValue(),
        (String) entity.get(CURRENCY),
        (String) entity.get(AVAILABILITY),
        attributes);
  }

  private static float[] vector(Object value) {
    if (value instanceof List<?> list) {
      float[] vector = new float[list.size()];
      for (int i = 0; i < vector.length; i++) {
        vector[i] = ((Number) list.get(i)).floatValue();
      }
      return vector;
    }
    return new float[0];
  }

  private <T> T call(String what, Supplier<T> call) {
    return new Calls(config, what + " on " + target).run(call);
  }

  /**
   * One call to Milvus with its failure policy. The SDK already retries UNAVAILABLE and rate
   * limiting ({@link MilvusConfig#retryConfig()}), so those are not retried again here; it does not
   * retry DEADLINE_EXCEEDED (a call that may have been applied), which is safe for us as every call
   * is idempotent (upserts and deletes by primary key, reads), so this retries it with the same
   * back-off.
   */
  private record Calls(MilvusConfig config, String what) {

    <T> T run(Supplier<T> call) {
      long start = System.currentTimeMillis();
      long backoff = config.retryInitialBackoffMs();
      for (int attempt = 1; ; attempt++) {
        try {
          return call.get();
        } catch (MilvusClientException e) {
          Status.Code code = grpcCode(e);
          boolean deadline = code == Status.Code.DEADLINE_EXCEEDED;
          long elapsed = System.currentTimeMillis() - start;
          if (deadline
              && attempt < config.retryMaxAttempts()
              && elapsed + backoff <= config.retryMaxTotalMs()) {
            log.warn(
                "Retry {} of {} for Milvus {} in {} ms: deadline exceeded",
                attempt,
                config.retryMaxAttempts() - 1,
                what,
                backoff);
            sleep(backoff);
            backoff = Math.min(backoff * 2, config.retryMaxBackoffMs());
            continue;
          }
          // TIMEOUT = the SDK's retries of UNAVAILABLE or rate limiting ran out: Milvus may come
          // back.
          boolean transientFailure =
              deadline || e.getErrorCode() == ErrorCode.TIMEOUT || code == Status.Code.UNAVAILABLE;
          throw new MilvusStoreException(
              "Milvus "
                  + what
                  + " failed"
                  + (transientFailure ? " (transient, " + "retries exhausted)" : " permanently")
                  + ": "
                  + describe(e, code),
              transientFailure,
              e);
        }
      }
    }

    private static Status.Code grpcCode(Throwable e) {
      for (Throwable cause = e; cause != null; cause = cause.getCause()) {
        if (cause instanceof StatusRuntimeException status) {
          return status.getStatus().getCode();
        }
      }
      // The SDK keeps only the gRPC error's text ("... StatusRuntimeException: DEADLINE_EXCEEDED:
      // ...").
      String message = String.valueOf(e.getMessage());
      for (Status.Code code : List.of(Status.Code.DEADLINE_EXCEEDED, Status.Code.UNAVAILABLE)) {
        if (message.contains("StatusRuntimeException: " + code.name())) {
          return code;
        }
      }
      return null;
    }

    private static String describe(MilvusClientException e, Status.Code code) {
      StringBuilder text = new StringBuilder(e.getErrorCode().name());
      if (code != null) {
        text.append(" gRPC ").append(code);
      }
      if (e.getServerErrCode() != 0) {
        text.append(" server code ").append(e.getServerErrCode());
      }
      return text.append(": ").append(e.getMessage()).toString();
    }

    private static void sleep(long millis) {
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new MilvusStoreException("Interrupted while retrying a Milvus call", true, e);
      }
    }
  }
}
