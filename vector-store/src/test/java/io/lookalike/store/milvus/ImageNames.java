package io.lookalike.store.milvus;

import org.testcontainers.utility.DockerImageName;

/**
 * Every container image the tests use, pinned in one place (also the versions deploy/compose runs).
 */
final class ImageNames {

  /**
   * Milvus standalone with embedded etcd and local storage, as Testcontainers' MilvusContainer runs
   * it.
   */
  static final DockerImageName MILVUS = DockerImageName.parse("milvusdb/milvus:v2.6.9");

  private ImageNames() {}
}
