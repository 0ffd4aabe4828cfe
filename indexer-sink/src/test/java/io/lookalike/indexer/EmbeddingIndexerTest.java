package io.lookalike.indexer;

import static io.lookalike.indexer.Embeddings.embedding;
import static org.assertj.core.api.Assertions.assertThat;

import io.lookalike.indexer.EmbeddingIndexer.Change;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ImageKey;
import io.lookalike.store.ClusteredVectors;
import io.lookalike.store.StoredImage;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddingIndexerTest {

  private static final String MODEL = "test_model";
  private static final int DIM = 8;

  @TempDir Path dir;
  private LuceneVectorStore store;
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private EmbeddingIndexer indexer;
  private final ClusteredVectors vectors = new ClusteredVectors(DIM, 2, 0.5f, 3);

  @BeforeEach
  void open() {
    store = LuceneVectorStore.open(dir, MODEL, DIM);
    indexer = new EmbeddingIndexer(store, registry);
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void shouldLetTheLastChangePerKeyWinWithinABatch() {
    indexer.index(
        List.of(
            change("p1/0", embedding("p1/0", MODEL, vectors.next(), 1)),
            change("p2/0", embedding("p2/0", MODEL, vectors.next(), 1)),
            change("p1/0", null),
            change("p2/0", null),
            change("p2/0", embedding("p2/0", MODEL, vectors.next(), 2))));

    assertThat(store.get(ImageKey.parse("p1/0"))).isEmpty();
    assertThat(store.get(ImageKey.parse("p2/0")).orElseThrow().version()).isEqualTo(2);
  }

  @Test
  void shouldConvertTheRecordWithItsProductMetadata() {
    indexer.index(List.of(change("p1/0", embedding("p1/0", MODEL, vectors.next(), 4))));

    StoredImage image = store.get(ImageKey.parse("p1/0")).orElseThrow();
    assertThat(image.brand()).isEqualTo("Acme");
    assertThat(image.price()).isEqualTo(29.5);
    assertThat(image.currency()).isEqualTo("EUR");
    assertThat(image.availability()).isEqualTo("IN_STOCK");
    assertThat(image.attributes()).containsEntry("colour", "red");
  }

  @Test
  void shouldCountUpsertsDeletesStaleAndFreshness() {
    indexer.index(List.of(change("p1/0", embedding("p1/0", MODEL, vectors.next(), 2))));
    indexer.index(List.of(change("p1/0", embedding("p1/0", MODEL, vectors.next(), 1))));
    indexer.index(List.of(change("p1/0", null)));

    assertThat(registry.get(EmbeddingIndexer.UPSERTS_METRIC).counter().count()).isEqualTo(1);
    assertThat(registry.get(EmbeddingIndexer.STALE_METRIC).counter().count()).isEqualTo(1);
    assertThat(registry.get(EmbeddingIndexer.DELETES_METRIC).counter().count()).isEqualTo(1);
    assertThat(registry.get(EmbeddingIndexer.WRITE_METRIC).timer().count()).isEqualTo(3);
    assertThat(registry.get(EmbeddingIndexer.FRESHNESS_METRIC).timer().count()).isEqualTo(2);
  }

  @Test
  void shouldRejectEmbeddingOfAnotherModel() {
    ImageEmbedding other = embedding("p1/0", "other_model", vectors.next(), 1);
    assertThat(indexer.check(ImageKey.parse("p1/0"), other).code()).isEqualTo("wrong_model");
  }

  @Test
  void shouldRejectVectorOfWrongDimension() {
    ImageEmbedding wide = embedding("p1/0", MODEL, new float[DIM + 1], 1);
    assertThat(indexer.check(ImageKey.parse("p1/0"), wide).code()).isEqualTo("wrong_dimension");
  }

  @Test
  void shouldRejectZeroOrNonFiniteVector() {
    assertThat(
            indexer
                .check(ImageKey.parse("p1/0"), embedding("p1/0", MODEL, new float[DIM], 1))
                .code())
        .isEqualTo("bad_vector");
    float[] nan = vectors.next();
    nan[3] = Float.NaN;
    assertThat(indexer.check(ImageKey.parse("p1/0"), embedding("p1/0", MODEL, nan, 1)).code())
        .isEqualTo("bad_vector");
  }

  @Test
  void shouldRejectEmbeddingWhoseIdsDoNotMatchTheKey() {
    assertThat(
            indexer
                .check(ImageKey.parse("p1/0"), embedding("p2/0", MODEL, vectors.next(), 1))
                .code())
        .isEqualTo("key_mismatch");
  }

  @Test
  void shouldAcceptAValidEmbedding() {
    assertThat(indexer.check(ImageKey.parse("p1/0"), embedding("p1/0", MODEL, vectors.next(), 1)))
        .isNull();
  }

  private static Change change(String key, ImageEmbedding embedding) {
    return new Change(ImageKey.parse(key), embedding);
  }
}
