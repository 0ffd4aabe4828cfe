package io.lookalike.store.lucene;

import static io.lookalike.store.Images.image;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.lookalike.schemas.ImageKey;
import io.lookalike.store.ClusteredVectors;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import io.lookalike.store.VectorStoreContractTest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LuceneVectorStoreTest extends VectorStoreContractTest {

  @TempDir Path dir;

  @Override
  protected VectorStore open(String modelId, int dimension) {
    return LuceneVectorStore.open(dir, modelId, dimension);
  }

  private LuceneVectorStore lucene() {
    return (LuceneVectorStore) store;
  }

  @Test
  void shouldKeepDataWhenReopened() {
    float[] v = vectors.next();
    store.write(List.of(image("p1/0", v, 7)), List.of());
    store.close();

    store = LuceneVectorStore.open(dir, "test_model", DIM);

    assertThat(store.count()).isEqualTo(1);
    assertThat(store.search(v, 1, SearchFilter.NONE).get(0).image().version()).isEqualTo(7);
  }

  @Test
  void shouldMakeWritesVisibleAtOnceAndDurableAtFlush() throws Exception {
    // Given a write that has returned
    store.write(List.of(image("p1/0", vectors.next(), 1)), List.of());

    // Then it is searchable, but the last commit on disk (what a crash leaves) lacks it
    assertThat(store.count()).isEqualTo(1);
    assertThat(docsOnDisk()).isZero();

    // When the store is flushed, then the commit on disk holds it
    store.flush();
    assertThat(docsOnDisk()).isEqualTo(1);
  }

  @Test
  void shouldOpenAndExtendAnIndexMadeWithCosine() throws Exception {
    // Given an index written the way earlier versions did: COSINE, the plain HNSW format
    store.close();
    Path old = dir.resolve("old");
    float[] v = vectors.next();
    try (org.apache.lucene.store.Directory d = org.apache.lucene.store.FSDirectory.open(old);
        org.apache.lucene.index.IndexWriter w =
            new org.apache.lucene.index.IndexWriter(
                d, new org.apache.lucene.index.IndexWriterConfig())) {
      org.apache.lucene.document.Document doc = new org.apache.lucene.document.Document();
      doc.add(
          new org.apache.lucene.document.StringField(
              "key", "p1/0", org.apache.lucene.document.Field.Store.YES));
      doc.add(
          new org.apache.lucene.document.StringField(
              "productId", "p1", org.apache.lucene.document.Field.Store.NO));
      doc.add(
          new org.apache.lucene.document.KnnFloatVectorField(
              "vector", v, org.apache.lucene.index.VectorSimilarityFunction.COSINE));
      doc.add(new org.apache.lucene.document.NumericDocValuesField("version", 3));
      for (String field : List.of("version", "position", "occurredAt", "embeddedAt")) {
        doc.add(new org.apache.lucene.document.StoredField(field, field.equals("version") ? 3 : 0));
      }
      w.addDocument(doc);
      w.setLiveCommitData(
          java.util.Map.of("lookalike.modelId", "test_model", "lookalike.dimension", "" + DIM)
              .entrySet());
      w.commit();
    }

    // When it is opened, searched and written to
    store = LuceneVectorStore.open(old, "test_model", DIM);
    float[] other = vectors.next();
    store.write(List.of(image("p2/0", other, 1)), List.of());

    // Then the old vector and the new one are both found, with cosine scores
    assertThat(store.search(v, 1, SearchFilter.NONE).get(0).image().version()).isEqualTo(3);
    assertThat(store.search(v, 1, SearchFilter.NONE).get(0).score()).isCloseTo(1f, within(1e-4f));
    assertThat(store.search(other, 1, SearchFilter.NONE).get(0).image().key())
        .isEqualTo(ImageKey.parse("p2/0"));
  }

  private long docsOnDisk() throws Exception {
    try (org.apache.lucene.store.Directory d = org.apache.lucene.store.FSDirectory.open(dir);
        org.apache.lucene.index.DirectoryReader lastCommit =
            org.apache.lucene.index.DirectoryReader.open(d)) {
      return lastCommit.numDocs();
    }
  }

  @Test
  void shouldRefuseToOpenTheIndexOfAnotherModelOrDimension() {
    store.close();

    assertThatThrownBy(() -> LuceneVectorStore.open(dir, "other_model", DIM))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("test_model")
        .hasMessageContaining("other_model");
    assertThatThrownBy(() -> LuceneVectorStore.open(dir, "test_model", DIM * 2))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("dimension " + DIM);

    store = LuceneVectorStore.open(dir, "test_model", DIM);
  }

  @Test
  void shouldSampleLiveImagesSpreadOverTheIndex() {
    for (int i = 0; i < 40; i++) {
      store.write(List.of(image("p" + i + "/0", vectors.next(), 1)), List.of());
    }
    store.write(List.of(), List.of(ImageKey.parse("p0/0")));

    List<StoredImage> sample = store.sample(10);

    assertThat(sample).hasSizeBetween(9, 10);
    assertThat(sample)
        .extracting(StoredImage::productId)
        .doesNotContain("p0")
        .doesNotHaveDuplicates();
    assertThat(sample).allSatisfy(i -> assertThat(i.vector()).hasSize(DIM));
    // not only the first writes: the sample reaches the last quarter
    assertThat(sample)
        .anySatisfy(
            i -> assertThat(Integer.parseInt(i.productId().substring(1))).isGreaterThan(30));
    assertThat(store.sample(100)).hasSize(39);
  }

  @Test
  void shouldKeepEveryImageWhenOptimized() {
    for (int i = 0; i < 5; i++) {
      store.write(List.of(image("p" + i + "/0", vectors.next(), 1)), List.of());
    }

    lucene().optimize();

    assertThat(lucene().segmentCount()).isEqualTo(1);
    assertThat(store.count()).isEqualTo(5);
  }

  @Test
  void shouldServeSearchesWhileWriting() throws Exception {
    var executor = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      var writes =
          executor.submit(
              () -> {
                for (int i = 0; i < 50; i++) {
                  store.write(
                      List.of(image("p" + i + "/0", vectors.next(), 1)),
                      List.of(ImageKey.parse("p" + (i - 10) + "/0")));
                }
              });
      var searches =
          executor.submit(
              () -> {
                float[] query = new ClusteredVectors(DIM, 1, 0.3f, 5).next();
                while (!writes.isDone()) {
                  assertThat(store.search(query, 5, SearchFilter.NONE).size()).isBetween(0, 5);
                }
              });
      writes.get();
      searches.get();
    } finally {
      executor.shutdownNow();
    }
    assertThat(store.count()).isEqualTo(10);
  }

  @Test
  void shouldAcceptVectorsWiderThanLuceneDefaultLimit(@TempDir Path wide) {
    try (LuceneVectorStore store1280 = LuceneVectorStore.open(wide, "wide_model", 1280)) {
      float[] v = new ClusteredVectors(1280, 2, 0.3f, 1).next();
      store1280.write(List.of(image("p1/0", v, 1)), List.of());
      assertThat(store1280.search(v, 1, SearchFilter.NONE).get(0).score())
          .isCloseTo(1f, within(1e-4f));
    }
  }

  @Test
  void shouldReachRecallAt10Of95PercentOnClusteredVectors(@TempDir Path recallDir) {
    int dim = 128;
    ClusteredVectors data = new ClusteredVectors(dim, 50, 1.0f, 7);
    float[][] corpus = data.next(5_000);
    try (LuceneVectorStore big = LuceneVectorStore.open(recallDir, "recall_model", dim)) {
      List<StoredImage> batch = new ArrayList<>();
      for (int i = 0; i < corpus.length; i++) {
        batch.add(image("p" + i + "/0", corpus[i], 1));
        if (batch.size() == 1_000) {
          big.write(batch, List.of());
          batch.clear();
        }
      }
      int queries = 100;
      int found = 0;
      for (int q = 0; q < queries; q++) {
        float[] query = data.next();
        Set<String> exact = new HashSet<>();
        IntStream.range(0, corpus.length)
            .boxed()
            .sorted(Comparator.comparingDouble(i -> -ClusteredVectors.dot(query, corpus[i])))
            .limit(10)
            .forEach(i -> exact.add("p" + i + "/0"));
        for (SearchHit hit : big.search(query, 10, SearchFilter.NONE)) {
          found += exact.contains(hit.image().key().toString()) ? 1 : 0;
        }
      }
      double recall = found / (queries * 10.0);
      System.out.printf("recall@10 = %.3f%n", recall);
      assertThat(recall).isGreaterThanOrEqualTo(0.95);
    }
  }
}
