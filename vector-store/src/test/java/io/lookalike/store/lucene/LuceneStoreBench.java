package io.lookalike.store.lucene;

import static io.lookalike.store.Images.image;

import io.lookalike.store.ClusteredVectors;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Indexing and search speed of {@link LuceneVectorStore} on clustered 1280-d vectors: {@code ./mvnw
 * -q -pl vector-store test-compile exec:java -Dbench=io.lookalike.store.lucene.LuceneStoreBench
 * -Dexec.args="[vectors]"}.
 */
public final class LuceneStoreBench {

  private static final int DIM = 1280;
  private static final String[] CATEGORIES = {
    "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"
  };

  public static void main(String[] args) throws IOException {
    int total = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    ClusteredVectors data =
        new ClusteredVectors(DIM, 200, 0.85f, 1); // cosine within a cluster ~0.6
    float[][] corpus = data.next(total);
    Path root = Files.createTempDirectory("lucene-bench");
    try {
      System.out.printf(
          "%d x %d-d clustered vectors, HNSW M=%d beam=%d, %d cores%n",
          total,
          DIM,
          LuceneVectorStore.HNSW_MAX_CONN,
          LuceneVectorStore.HNSW_BEAM_WIDTH,
          Runtime.getRuntime().availableProcessors());
      boolean searchOnly = args.length > 1 && args[1].equals("search");
      for (int[] run :
          searchOnly ? new int[0][] : new int[][] {{1, 200}, {10, 1_000}, {100, 4_000}}) {
        try (LuceneVectorStore store =
            LuceneVectorStore.open(root.resolve("b" + run[0]), "bench", DIM)) {
          index(store, corpus, run[0], run[1]);
        }
      }
      try (LuceneVectorStore store = LuceneVectorStore.open(root.resolve("b500"), "bench", DIM)) {
        index(store, corpus, 500, total);
        float[][] queries = data.next(600);
        SearchFilter filter = new SearchFilter(Set.of("c3"), null, null, null, null);
        System.out.printf("%d segments%n", store.segmentCount());
        search(store, corpus, queries, null);
        search(store, corpus, queries, filter);
        long start = System.nanoTime();
        store.optimize();
        System.out.printf(
            "optimize() to %d segment in %.1f s%n",
            store.segmentCount(), (System.nanoTime() - start) / 1e9);
        search(store, corpus, queries, null);
        search(store, corpus, queries, filter);
      }
    } finally {
      try (Stream<Path> files = Files.walk(root)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void index(LuceneVectorStore store, float[][] corpus, int batchSize, int count) {
    List<StoredImage> batch = new ArrayList<>(batchSize);
    long start = System.nanoTime();
    int batches = 0;
    for (int i = 0; i < count; i++) {
      batch.add(
          image(
              "p" + i + "/0",
              corpus[i],
              1,
              CATEGORIES[i % CATEGORIES.length],
              "Acme",
              10.0 + i % 100,
              "IN_STOCK"));
      if (batch.size() == batchSize || i == count - 1) {
        store.write(batch, List.of());
        batch.clear();
        batches++;
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        "index batch=%-4d %6d vectors in %6.1f s: %7.0f vectors/s, %7.1f ms per batch (write+commit+refresh)%n",
        batchSize, count, seconds, count / seconds, seconds * 1000 / batches);
  }

  private static void search(
      LuceneVectorStore store, float[][] corpus, float[][] queries, SearchFilter filter) {
    int warmup = 100;
    long[] micros = new long[queries.length - warmup];
    int found = 0;
    int checked = 0;
    for (int q = 0; q < queries.length; q++) {
      long start = System.nanoTime();
      List<SearchHit> hits =
          store.search(queries[q], 10, filter == null ? SearchFilter.NONE : filter);
      long took = (System.nanoTime() - start) / 1_000;
      if (q >= warmup) {
        micros[q - warmup] = took;
      }
      if (q < 200) {
        Set<String> exact = exact(corpus, queries[q], filter);
        found +=
            (int) hits.stream().filter(h -> exact.contains(h.image().key().toString())).count();
        checked += exact.size();
      }
    }
    Arrays.sort(micros);
    System.out.printf(
        "search k=10 %-22s p50 %6d us  p99 %6d us  recall@10 %.3f%n",
        filter == null ? "no filter" : "filter category (10%)",
        micros[micros.length / 2],
        micros[(int) (micros.length * 0.99)],
        found / (double) checked);
  }

  private static Set<String> exact(float[][] corpus, float[] query, SearchFilter filter) {
    Set<String> keys = new HashSet<>();
    IntStream.range(0, corpus.length)
        .boxed()
        .filter(
            i -> filter == null || filter.categories().contains(CATEGORIES[i % CATEGORIES.length]))
        .sorted(Comparator.comparingDouble(i -> -ClusteredVectors.dot(query, corpus[i])))
        .limit(10)
        .forEach(i -> keys.add("p" + i + "/0"));
    return keys;
  }

  private LuceneStoreBench() {}
}
