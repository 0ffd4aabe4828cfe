package io.lookalike.store.milvus;

import io.milvus.common.clientenum.FunctionType;
import io.milvus.v2.common.DataType;
import io.milvus.v2.common.IndexParam;
import io.milvus.v2.service.collection.request.AddFieldReq;
import io.milvus.v2.service.collection.request.CreateCollectionReq;
import io.milvus.v2.service.collection.response.DescribeCollectionResp;
import java.util.List;
import java.util.Map;

/** The fields of a Lookalike collection, its schema and indexes as the SDK builds them. */
final class MilvusSchema {

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
   * The product text that full-text search matches (title, brand, category, attribute values; brand
   * and category twice, as the Lucene store weighs them double), analysed by Milvus's standard
   * analyzer.
   */
  static final String TEXT = "text";

  /** The BM25 term weights of {@link #TEXT}, filled by Milvus's BM25 function, never by us. */
  static final String TEXT_SPARSE = "text_sparse";

  static final String TEXT_FUNCTION = "text_bm25";

  /**
   * Longest VARCHARs, in bytes; longer optional strings are cut so that one record cannot fail a
   * batch.
   */
  static final int KEY_MAX_BYTES = 2048;

  static final int SHORT_MAX_BYTES = 256;
  static final int LONG_MAX_BYTES = 4096;
  static final int TEXT_MAX_BYTES = 16_384;

  /** What searches and reads return: everything a {@link io.lookalike.store.StoredImage} holds. */
  static final List<String> OUTPUT_FIELDS =
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

  private MilvusSchema() {}

  /** The explicit schema of a collection of vectors of {@code dimension}. */
  static CreateCollectionReq.CollectionSchema schema(int dimension) {
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
    // Full-text search (Milvus >= 2.5): the analysed text, its BM25 sparse vector, the function
    // that derives one from the other on every insert and on every text query.
    schema.addField(
        varchar(TEXT, TEXT_MAX_BYTES, false)
            .enableAnalyzer(true)
            .analyzerParams(Map.of("type", "standard"))
            .build());
    schema.addField(
        AddFieldReq.builder().fieldName(TEXT_SPARSE).dataType(DataType.SparseFloatVector).build());
    schema.addFunction(
        CreateCollectionReq.Function.builder()
            .name(TEXT_FUNCTION)
            .functionType(FunctionType.BM25)
            .inputFieldNames(List.of(TEXT))
            .outputFieldNames(List.of(TEXT_SPARSE))
            .build());
    return schema;
  }

  /**
   * The indexes built at creation: the configured COSINE index on the vectors, a BM25 inverted
   * index on the text's sparse vectors.
   */
  static List<IndexParam> indexes(MilvusConfig config) {
    return List.of(
        IndexParam.builder()
            .fieldName(VECTOR)
            .indexName(VECTOR + "_index")
            .indexType(config.indexType())
            .metricType(IndexParam.MetricType.COSINE)
            .extraParams(config.indexParams())
            .build(),
        IndexParam.builder()
            .fieldName(TEXT_SPARSE)
            .indexName(TEXT_SPARSE + "_index")
            .indexType(IndexParam.IndexType.SPARSE_INVERTED_INDEX)
            .metricType(IndexParam.MetricType.BM25)
            .build());
  }

  /**
   * Whether a described collection has full-text search: collections created before it have no BM25
   * function (their rows lack the text, so only a re-embed into a new collection adds it).
   */
  static boolean hasText(DescribeCollectionResp description) {
    CreateCollectionReq.CollectionSchema schema = description.getCollectionSchema();
    return schema.getField(TEXT) != null
        && schema.getFunctionList() != null
        && schema.getFunctionList().stream()
            .anyMatch(
                f ->
                    f.getFunctionType() == FunctionType.BM25
                        && f.getOutputFieldNames().contains(TEXT_SPARSE));
  }

  /** The dimension of a described collection's vectors; fails if it is not a Lookalike one. */
  static int vectorDimension(DescribeCollectionResp description) {
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

  private static AddFieldReq.AddFieldReqBuilder<?> varchar(
      String name, int maxBytes, boolean nullable) {
    return AddFieldReq.builder()
        .fieldName(name)
        .dataType(DataType.VarChar)
        .maxLength(maxBytes)
        .isNullable(nullable);
  }
}
