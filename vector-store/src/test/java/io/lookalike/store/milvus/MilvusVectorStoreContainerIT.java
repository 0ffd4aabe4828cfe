package io.lookalike.store.milvus;

import static io.lookalike.store.Images.image;
import static org.assertj.core.api.Assertions.assertThat;

import io.lookalike.store.SearchFilter;
import io.lookalike.store.VectorStore;
import io.lookalike.store.VectorStoreContractTest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.milvus.MilvusContainer;

/**
 * The same contract as {@link MilvusVectorStoreTest}, against a real Milvus standalone in a
 * container. Skipped when no Docker engine is reachable (as on our CI machines).
 */
@Testcontainers(disabledWithoutDocker = true)
class MilvusVectorStoreContainerIT extends VectorStoreContractTest {

  @Container private static final MilvusContainer MILVUS = new MilvusContainer(ImageNames.MILVUS);

  private static int next;
  private String prefix;

  @Override
  protected VectorStore open(String modelId, int dimension) {
    prefix = "it" + (next++) + "_";
    Map<String, Object> settings = new HashMap<>();
    settings.put(MilvusConfig.URI_CONFIG, MILVUS.getEndpoint());
    settings.put(MilvusConfig.COLLECTION_PREFIX_CONFIG, prefix);
    settings.put(MilvusConfig.ALIAS_CONFIG, prefix + "active");
    // A real Milvus applies writes asynchronously; STRONG makes the contract's read-after-write
    // hold.
    settings.put(MilvusConfig.CONSISTENCY_LEVEL_CONFIG, "STRONG");
    return MilvusVectorStore.open(new MilvusConfig(settings), modelId, dimension);
  }

  @Test
  void shouldSwitchTheAliasToANewModel() {
    MilvusVectorStore first = (MilvusVectorStore) store;
    float[] v = vectors.next();
    first.write(List.of(image("p1/0", v, 1)), List.of());
    first.activate();
    Map<String, Object> settings = new HashMap<>();
    settings.put(MilvusConfig.URI_CONFIG, MILVUS.getEndpoint());
    settings.put(MilvusConfig.COLLECTION_PREFIX_CONFIG, prefix);
    settings.put(MilvusConfig.ALIAS_CONFIG, prefix + "active");
    settings.put(MilvusConfig.CONSISTENCY_LEVEL_CONFIG, "STRONG");
    MilvusConfig config = new MilvusConfig(settings);
    try (MilvusVectorStore gateway = MilvusVectorStore.openAlias(config);
        MilvusVectorStore second = MilvusVectorStore.open(config, "next_model", DIM)) {
      second.write(List.of(image("p2/0", v, 1)), List.of());
      second.activate();
      assertThat(gateway.search(v, 5, SearchFilter.NONE))
          .extracting(h -> h.image().key().toString())
          .containsExactly("p2/0");
    }
  }
}
