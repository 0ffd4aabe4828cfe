package io.lookalike.store.milvus;

import io.milvus.v2.client.MilvusClientV2;
import java.util.Optional;

/**
 * A connection that reads where {@code milvus.alias} points, also before the alias exists (a fresh
 * cluster before the sink's first write), as the distributed gateway's alias follower does.
 */
public final class MilvusAlias implements AutoCloseable {

  private final MilvusClientV2 client;
  private final MilvusConfig config;
  private final MilvusCollections collections;

  private MilvusAlias(MilvusClientV2 client, MilvusConfig config) {
    this.client = client;
    this.config = config;
    this.collections = new MilvusCollections(client, config);
  }

  /** Connects to Milvus; fails when it cannot (unreachable, bad settings). */
  public static MilvusAlias connect(MilvusConfig config) {
    return new MilvusAlias(MilvusVectorStore.connect(config), config);
  }

  /** The alias's name, {@code milvus.alias}. */
  public String name() {
    return config.alias();
  }

  /** Where the alias points now, or empty while it does not exist; fails when Milvus cannot say. */
  public Optional<MilvusVectorStore.AliasTarget> target() {
    return collections
        .aliasedIfSet()
        .map(aliased -> MilvusVectorStore.target(config, collections, aliased));
  }

  @Override
  public void close() {
    client.close();
  }
}
