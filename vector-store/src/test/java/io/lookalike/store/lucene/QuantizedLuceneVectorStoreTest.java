package io.lookalike.store.lucene;

import io.lookalike.store.VectorStore;
import io.lookalike.store.VectorStoreContractTest;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on an int7-quantised graph (candidates re-scored with the float vectors). */
class QuantizedLuceneVectorStoreTest extends VectorStoreContractTest {

  @TempDir Path dir;

  @Override
  protected VectorStore open(String modelId, int dimension) {
    return LuceneVectorStore.open(
        dir, modelId, dimension, LuceneVectorStore.DEFAULTS.withQuantizedBits(7));
  }
}
