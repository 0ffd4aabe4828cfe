package io.lookalike.store.milvus;

import io.milvus.v2.client.MilvusClientV2;
import io.milvus.v2.exception.MilvusClientException;
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
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The collections and the alias of one Milvus connection: creating a collection (schema, indexes,
 * load) or checking an existing one, its properties, dropping, and pointing {@code milvus.alias}.
 */
final class MilvusCollections {

  private static final Logger log = LoggerFactory.getLogger(MilvusCollections.class);

  /** Milvus's server code for "alias not found" ({@code merr.ErrAliasNotFound}). */
  private static final int ALIAS_NOT_FOUND = 1600;

  private final MilvusClientV2 client;
  private final MilvusConfig config;

  MilvusCollections(MilvusClientV2 client, MilvusConfig config) {
    this.client = client;
    this.config = config;
  }

  /** The collection {@code milvus.alias} points at, or null when there is no such alias. */
  String aliasedOrNull() {
    try {
      return client
          .describeAlias(DescribeAliasReq.builder().alias(config.alias()).build())
          .getCollectionName();
    } catch (MilvusClientException e) {
      return null; // no such alias (yet)
    }
  }

  /** The collection {@code milvus.alias} points at; fails when there is no such alias. */
  String aliased() {
    String alias = config.alias();
    return calls("describe alias " + alias)
        .run(
            () ->
                client
                    .describeAlias(DescribeAliasReq.builder().alias(alias).build())
                    .getCollectionName());
  }

  /**
   * The collection {@code milvus.alias} points at, or empty when there is no such alias (yet);
   * fails on any other error (unlike {@link #aliasedOrNull()}).
   */
  Optional<String> aliasedIfSet() {
    try {
      return Optional.of(aliased());
    } catch (MilvusStoreException e) {
      if (e.getCause() instanceof MilvusClientException c
          && c.getServerErrCode() == ALIAS_NOT_FOUND) {
        return Optional.empty();
      }
      throw e;
    }
  }

  DescribeCollectionResp describe(String collection) {
    return calls("describe collection " + collection)
        .run(
            () ->
                client.describeCollection(
                    DescribeCollectionReq.builder().collectionName(collection).build()));
  }

  boolean exists(String collection) {
    return calls("has collection " + collection)
        .run(
            () ->
                client.hasCollection(
                    HasCollectionReq.builder().collectionName(collection).build()));
  }

  /**
   * Creates {@code collection} when missing; otherwise checks its dimension, sets {@code
   * properties} where they differ and loads it. Returns whether it has full-text search ({@link
   * MilvusSchema#hasText}).
   */
  boolean ensure(String collection, String modelId, int dimension, Map<String, String> properties) {
    if (!exists(collection)) {
      try {
        create(collection, modelId, dimension, properties);
        log.info(
            "Created Milvus collection {} ({} dimensions, {} {}, consistency {})",
            collection,
            dimension,
            config.indexType(),
            config.indexParams(),
            config.consistencyLevel());
        return true;
      } catch (MilvusStoreException e) {
        // Another task may have created it meanwhile; if so, use it.
        if (!exists(collection)) {
          throw e;
        }
      }
    }
    DescribeCollectionResp description = describe(collection);
    int stored = MilvusSchema.vectorDimension(description);
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
      calls("alter collection properties of " + collection)
          .runVoid(
              () ->
                  client.alterCollectionProperties(
                      AlterCollectionPropertiesReq.builder()
                          .collectionName(collection)
                          .properties(properties)
                          .build()));
    }
    boolean loaded =
        calls("get load state of " + collection)
            .run(
                () ->
                    client.getLoadState(
                        GetLoadStateReq.builder().collectionName(collection).build()));
    if (!loaded) {
      calls("load collection " + collection)
          .runVoid(
              () ->
                  client.loadCollection(
                      LoadCollectionReq.builder().collectionName(collection).build()));
    }
    boolean text = MilvusSchema.hasText(description);
    log.info(
        "Opened Milvus collection {} ({} dimensions, consistency {}{})",
        collection,
        dimension,
        config.consistencyLevel(),
        text ? ", full-text search" : ", created before full-text search: no text queries");
    return text;
  }

  private void create(
      String collection, String modelId, int dimension, Map<String, String> properties) {
    calls("create collection " + collection)
        .runVoid(
            () ->
                // with index params the SDK also builds the indexes and loads the collection
                client.createCollection(
                    CreateCollectionReq.builder()
                        .collectionName(collection)
                        .description("Lookalike image vectors of model " + modelId)
                        .collectionSchema(MilvusSchema.schema(dimension))
                        .indexParams(MilvusSchema.indexes(config))
                        .numShards(config.shards())
                        .consistencyLevel(config.consistencyLevel())
                        .properties(new HashMap<>(properties))
                        .build()));
  }

  /** Points the alias at {@code collection}: searches through it switch atomically. */
  void activate(String collection) {
    String alias = config.alias();
    String current = aliasedOrNull();
    if (current == null || current.isEmpty()) {
      calls("create alias " + alias)
          .runVoid(
              () ->
                  client.createAlias(
                      CreateAliasReq.builder().collectionName(collection).alias(alias).build()));
    } else if (!current.equals(collection)) {
      calls("alter alias " + alias)
          .runVoid(
              () ->
                  client.alterAlias(
                      AlterAliasReq.builder().collectionName(collection).alias(alias).build()));
    }
    log.info("Alias {} now points at {} (was {})", alias, collection, current);
  }

  /** Drops {@code collection}; refused while the alias points at it. */
  void drop(String collection) {
    if (collection.equals(aliasedOrNull())) {
      throw new IllegalStateException(
          "Milvus alias "
              + config.alias()
              + " points at "
              + collection
              + ": switch it to another model before dropping this one");
    }
    calls("drop collection " + collection)
        .runVoid(
            () ->
                client.dropCollection(
                    DropCollectionReq.builder().collectionName(collection).build()));
    log.info("Dropped Milvus collection {}", collection);
  }

  private MilvusCalls calls(String what) {
    return new MilvusCalls(config, what);
  }
}
