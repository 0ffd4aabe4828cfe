package io.lookalike.store.milvus;

import io.milvus.v2.common.DataType;
import io.milvus.v2.common.IndexParam;
import io.milvus.v2.service.collection.request.AddFieldReq;
import io.milvus.v2.service.collection.request.CreateCollectionReq;
import io.milvus.v2.service.collection.response.DescribeCollectionResp;
import java.util.List;

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
   * Longest VARCHARs, in bytes; longer optional strings are cut so that one record cannot fail a
   * batch.
   */
  static final int KEY_MAX_BYTES = 2048;

  static final int SHORT_MAX_BYTES = 256;
  static final int LONG_MAX_BYTES = 4096;

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
    return schema;
  }

  /** The indexes built at creation: the configured COSINE index on the vectors. */
  static List<IndexParam> indexes(MilvusConfig config) {
    return List.of(
        IndexParam.builder()
            .fieldName(VECTOR)
            .indexName(VECTOR + "_index")
            .indexType(config.indexType())
            .metricType(IndexParam.MetricType.COSINE)
            .extraParams(config.indexParams())
            .build());
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
