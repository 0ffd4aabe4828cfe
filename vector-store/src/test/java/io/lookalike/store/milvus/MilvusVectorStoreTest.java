package io.lookalike.store.milvus;

import static io.lookalike.store.Images.image;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.ImageKey;
import io.lookalike.store.Images;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import io.lookalike.store.VectorStoreContractTest;
import io.milvus.grpc.DataType;
import io.milvus.grpc.FieldSchema;
import io.milvus.shaded.io.grpc.Status;
import io.milvus.v2.client.ConnectConfig;
import io.milvus.v2.client.MilvusClientV2;
import io.milvus.v2.common.IndexParam;
import io.milvus.v2.service.collection.request.CreateCollectionReq;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real Milvus SDK and {@link MilvusVectorStore} against {@link MilvusProtocolDouble} (not
 * Milvus).
 */
class MilvusVectorStoreTest extends VectorStoreContractTest {

  private static MilvusProtocolDouble milvus;
  private static int next;
  private String prefix;

  @BeforeAll
  static void startDouble() throws Exception {
    milvus = new MilvusProtocolDouble();
  }

  @AfterAll
  static void stopDouble() throws Exception {
    milvus.close();
  }

  static Map<String, Object> settings(MilvusProtocolDouble milvus, String prefix) {
    Map<String, Object> settings = new HashMap<>();
    settings.put(MilvusConfig.URI_CONFIG, milvus.uri());
    settings.put(MilvusConfig.TOKEN_CONFIG, "root:Milvus");
    settings.put(MilvusConfig.COLLECTION_PREFIX_CONFIG, prefix);
    settings.put(MilvusConfig.ALIAS_CONFIG, prefix + "active");
    settings.put(MilvusConfig.WRITE_BATCH_SIZE_CONFIG, 20);
    settings.put(MilvusConfig.RETRY_INITIAL_BACKOFF_MS_CONFIG, 10L);
    settings.put(MilvusConfig.RETRY_MAX_ATTEMPTS_CONFIG, 5);
    return settings;
  }

  @Override
  protected VectorStore open(String modelId, int dimension) {
    prefix = "t" + (next++) + "_"; // a fresh collection per test
    return MilvusVectorStore.open(new MilvusConfig(settings(milvus, prefix)), modelId, dimension);
  }

  private MilvusVectorStore milvusStore() {
    return (MilvusVectorStore) store;
  }

  @Test
  void shouldCreateTheCollectionWithAnExplicitSchemaAndCosineHnswIndex() {
    MilvusProtocolDouble.Collection collection = milvus.collection(prefix + MODEL);

    assertThat(collection).isNotNull();
    assertThat(collection.primaryKey()).isEqualTo("key");
    assertThat(collection.field("key").getDataType()).isEqualTo(DataType.VarChar);
    assertThat(collection.field("vector").getDataType()).isEqualTo(DataType.FloatVector);
    assertThat(collection.dimension()).isEqualTo(DIM);
    assertThat(collection.field("version").getDataType()).isEqualTo(DataType.Int64);
    assertThat(collection.field("price").getDataType()).isEqualTo(DataType.Double);
    assertThat(collection.field("price").getNullable()).isTrue();
    assertThat(collection.schema.getFieldsList())
        .extracting(FieldSchema::getName)
        .contains(
            "productId",
            "occurredAt",
            "embeddedAt",
            "sha256",
            "category",
            "brand",
            "availability",
            "attributes");
    assertThat(collection.indexes)
        .hasSize(2)
        .first()
        .satisfies(
            index -> {
              assertThat(index.getFieldName()).isEqualTo("vector");
              Map<String, String> params = new HashMap<>();
              index.getExtraParamsList().forEach(p -> params.put(p.getKey(), p.getValue()));
              assertThat(params)
                  .containsEntry("index_type", "HNSW")
                  .containsEntry("metric_type", "COSINE")
                  .containsEntry("M", "16")
                  .containsEntry("efConstruction", "200");
            });
    assertThat(collection.loaded).isTrue();
    assertThat(collection.consistency).isEqualTo(io.milvus.grpc.ConsistencyLevel.Bounded);
  }

  @Test
  void shouldDeclareFullTextSearchAsABm25FunctionOverAnAnalysedTextField() {
    MilvusProtocolDouble.Collection collection = milvus.collection(prefix + MODEL);

    FieldSchema text = collection.field("text");
    assertThat(text.getDataType()).isEqualTo(DataType.VarChar);
    assertThat(text.getTypeParamsList())
        .anySatisfy(
            p -> {
              assertThat(p.getKey()).isEqualTo("enable_analyzer");
              assertThat(p.getValue()).isEqualTo("true");
            });
    assertThat(collection.field("text_sparse").getDataType()).isEqualTo(DataType.SparseFloatVector);
    assertThat(collection.field("text_sparse").getIsFunctionOutput()).isTrue();
    assertThat(collection.schema.getFunctionsList())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.getType()).isEqualTo(io.milvus.grpc.FunctionType.BM25);
              assertThat(f.getInputFieldNamesList()).containsExactly("text");
              assertThat(f.getOutputFieldNamesList()).containsExactly("text_sparse");
            });
    assertThat(collection.indexes.get(1).getFieldName()).isEqualTo("text_sparse");
    assertThat(collection.indexes.get(1).getExtraParamsList())
        .anySatisfy(
            p -> {
              assertThat(p.getKey()).isEqualTo("metric_type");
              assertThat(p.getValue()).isEqualTo("BM25");
            });

    store.write(
        List.of(
            Images.product(
                "p1/0",
                vectors.next(),
                "Wool coat",
                "Northwind",
                "Coats",
                Map.of("colour", "red"))),
        List.of());

    // What the BM25 function reads: brand and category twice, as Lucene weighs them double.
    assertThat(collection.rows.get("p1/0").get("text"))
        .isEqualTo("Wool coat Northwind Northwind Coats Coats red");
    assertThat(collection.rows.get("p1/0")).doesNotContainKey("text_sparse");
  }

  @Test
  void shouldAnswerATextQueryOnACollectionFromBeforeFullTextSearchWithAClearError() {
    String legacy = prefix + "legacy_model";
    CreateCollectionReq.CollectionSchema full = MilvusSchema.schema(DIM);
    CreateCollectionReq.CollectionSchema old =
        CreateCollectionReq.CollectionSchema.builder().build();
    full.getFieldSchemaList().stream()
        .filter(f -> !f.getName().startsWith("text"))
        .forEach(old.getFieldSchemaList()::add);
    MilvusClientV2 client =
        new MilvusClientV2(ConnectConfig.builder().uri(milvus.uri()).token("root:Milvus").build());
    try {
      client.createCollection(
          CreateCollectionReq.builder()
              .collectionName(legacy)
              .collectionSchema(old)
              .indexParams(
                  List.of(
                      IndexParam.builder()
                          .fieldName("vector")
                          .indexType(IndexParam.IndexType.HNSW)
                          .metricType(IndexParam.MetricType.COSINE)
                          .build()))
              .build());
    } finally {
      client.close();
    }
    MilvusConfig config = new MilvusConfig(settings(milvus, prefix));
    try (MilvusVectorStore before = MilvusVectorStore.open(config, "legacy_model", DIM)) {
      float[] v = vectors.next();
      before.write(List.of(image("p1/0", v, 1)), List.of());

      assertThat(before.search(v, 1, SearchFilter.NONE)).hasSize(1);
      assertThat(milvus.collection(legacy).rows.get("p1/0")).doesNotContainKey("text");
      assertThatThrownBy(() -> before.searchText("dress", 5, SearchFilter.NONE))
          .isInstanceOf(UnsupportedOperationException.class)
          .hasMessageContaining(legacy)
          .hasMessageContaining("before full-text search");
    }
  }

  @Test
  void shouldSearchTextThroughTheAlias() {
    MilvusConfig config = new MilvusConfig(settings(milvus, prefix));
    store.write(
        List.of(
            Images.product("p1/0", vectors.next(), "Wool coat", "Northwind", "Coats", Map.of())),
        List.of());
    milvusStore().activate();
    try (MilvusVectorStore gateway = MilvusVectorStore.openAlias(config)) {
      assertThat(gateway.searchText("wool", 5, SearchFilter.NONE))
          .extracting(h -> h.image().key().toString())
          .containsExactly("p1/0");
    }
  }

  @Test
  void shouldReopenAnExistingCollectionAndRefuseAnotherDimension() {
    store.write(List.of(image("p1/0", vectors.next(), 1)), List.of());
    MilvusConfig config = new MilvusConfig(settings(milvus, prefix));

    try (MilvusVectorStore again = MilvusVectorStore.open(config, MODEL, DIM)) {
      assertThat(again.count()).isEqualTo(1);
    }
    assertThatThrownBy(() -> MilvusVectorStore.open(config, MODEL, DIM * 2))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(DIM + " dimensions");
  }

  @Test
  void shouldSendUpsertsInBatchesAndReadVersionsOncePerBatch() {
    int upsertsBefore = milvus.calls("upsert");
    int queriesBefore = milvus.calls("query");
    List<StoredImage> images =
        IntStream.range(0, 50).mapToObj(i -> image("p" + i + "/0", vectors.next(), 1)).toList();

    store.write(images, List.of());

    assertThat(milvus.calls("upsert") - upsertsBefore).isEqualTo(3); // 20 + 20 + 10
    assertThat(milvus.calls("query") - queriesBefore).isEqualTo(3); // one version query per 20 keys
    assertThat(store.count()).isEqualTo(50);
  }

  @Test
  void shouldPointTheAliasAtTheActiveModelAndSearchThroughIt() {
    MilvusConfig config = new MilvusConfig(settings(milvus, prefix));
    float[] v = vectors.next();
    store.write(List.of(image("p1/0", v, 1)), List.of());
    milvusStore().activate();
    try (MilvusVectorStore gateway = MilvusVectorStore.openAlias(config);
        MilvusVectorStore next = MilvusVectorStore.open(config, "next_model", DIM)) {
      assertThat(gateway.modelId()).isEqualTo(MODEL);
      assertThat(gateway.dimension()).isEqualTo(DIM);
      assertThat(gateway.search(v, 1, SearchFilter.NONE))
          .extracting(h -> h.image().key().toString())
          .containsExactly("p1/0");

      next.write(List.of(image("p2/0", v, 1)), List.of());
      next.activate();

      assertThat(milvus.aliasTarget(prefix + "active")).isEqualTo(prefix + "next_model");
      assertThat(gateway.search(v, 5, SearchFilter.NONE))
          .extracting(h -> h.image().key().toString())
          .containsExactly("p2/0");
    }
  }

  @Test
  void shouldPassFilterValuesAsTemplateParametersNotAsExpressionText() {
    MilvusExpressions.Expression expression =
        MilvusExpressions.of(
            new SearchFilter(
                Set.of("x\" or category != \""), Set.of("Acme"), 1.0, 2.0, Set.of("IN_STOCK")));

    assertThat(expression.text())
        .isEqualTo(
            "category_key in {categories} and brand_key in {brands} and "
                + "availability_key in {availability} and price >= {min_price} and price <= {max_price}");
    assertThat(expression.values())
        .containsEntry("categories", List.of("x\" or category != \""))
        .containsEntry("brands", List.of("acme"))
        .containsEntry("min_price", 1.0);
  }

  @Test
  void shouldRejectANonFinitePriceBound() {
    assertThatThrownBy(
            () ->
                store.search(
                    vectors.next(), 5, new SearchFilter(null, null, Double.NaN, null, null)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("minPrice");
  }

  @Test
  void shouldRetryUnavailableAndSucceed() {
    milvus.failNext("upsert", 2, Status.UNAVAILABLE.withDescription("injected"));
    int before = milvus.calls("upsert");

    VectorStore.WriteResult result =
        store.write(List.of(image("p1/0", vectors.next(), 1)), List.of());

    assertThat(result.upserted()).isEqualTo(1);
    assertThat(milvus.calls("upsert") - before).isEqualTo(3);
    assertThat(store.get(ImageKey.parse("p1/0"))).isPresent();
  }

  @Test
  void shouldRetryDeadlineExceededWhichTheSdkDoesNotRetry() {
    milvus.failNext("query", 1, Status.DEADLINE_EXCEEDED.withDescription("injected"));

    store.write(List.of(image("p1/0", vectors.next(), 1)), List.of());

    assertThat(store.count()).isEqualTo(1);
  }

  @Test
  void shouldFailClearlyAndAtOnceOnAPermanentError() {
    milvus.errorNext("upsert", 1, 1100, "invalid parameter: injected");
    int before = milvus.calls("upsert");

    assertThatThrownBy(() -> store.write(List.of(image("p1/0", vectors.next(), 1)), List.of()))
        .isInstanceOfSatisfying(
            MilvusStoreException.class, e -> assertThat(e.isTransient()).isFalse())
        .hasMessageContaining("upsert")
        .hasMessageContaining("permanently")
        .hasMessageContaining("injected");
    assertThat(milvus.calls("upsert") - before).isEqualTo(1);
    assertThat(store.count()).isZero();
  }

  @Test
  void shouldGiveUpAsTransientWhenMilvusStaysUnavailable() {
    milvus.failNext("upsert", 10, Status.UNAVAILABLE.withDescription("injected"));
    try {
      assertThatThrownBy(() -> store.write(List.of(image("p1/0", vectors.next(), 1)), List.of()))
          .isInstanceOfSatisfying(
              MilvusStoreException.class, e -> assertThat(e.isTransient()).isTrue());
    } finally {
      milvus.clearFailures();
    }
  }

  @Test
  void shouldCutOverlongOptionalStringsInsteadOfFailingTheBatch() {
    StoredImage image = image("p1/0", vectors.next(), 1);
    StoredImage longTitle =
        new StoredImage(
            image.key(),
            image.vector(),
            1,
            image.sha256(),
            0,
            image.sourceUrl(),
            image.occurredAtMillis(),
            image.embeddedAtMillis(),
            "é".repeat(5_000),
            image.brand(),
            image.category(),
            image.price(),
            image.currency(),
            image.availability(),
            image.attributes());

    store.write(List.of(longTitle), List.of());

    assertThat(store.get(image.key()).orElseThrow().title())
        .hasSize(MilvusSchema.LONG_MAX_BYTES / 2);
  }

  @Test
  void shouldNeverPrintTheToken() {
    // The SDK's ConnectConfig.toString() prints the token (2.6.22), so we never log it; ours hide
    // it.
    MilvusConfig config = new MilvusConfig(settings(milvus, prefix));
    assertThat(config.values().toString()).doesNotContain("root:Milvus");
    assertThat(store.toString()).doesNotContain("root:Milvus");
  }
}
