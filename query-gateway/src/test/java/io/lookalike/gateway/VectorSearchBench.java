package io.lookalike.gateway;

import static io.lookalike.store.Images.image;

import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.ImageSafetyConfig;
import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.model.ModelInfo;
import io.lookalike.store.ClusteredVectors;
import io.lookalike.store.FeatureLikeVectors;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.IOUtils;

/**
 * Vector search at catalog scale on the Lucene store, in one run: index build speed (written the
 * way the sinks write: batches made visible on return, one durable {@code flush()} a second),
 * segments, disk and memory per million vectors, recall@10 against exact search, latency at
 * concurrency 1 and throughput at concurrency 8, idle and while a writer adds 100 vectors/s, and
 * the same searches through the gateway's HTTP API ({@code POST /v1/search}) with their ratio to
 * Lucene alone. Float and int7-quantised graphs side by side. The data is {@link
 * FeatureLikeVectors}: a Gaussian mixture shaped like real image features, not isotropic noise.
 *
 * <p>Settings (system properties): {@code bench.vectors} (100000), {@code bench.dim} (768), {@code
 * bench.clusters} (vectors / 40), {@code bench.formats} ({@code float,int7}; also {@code int4}),
 * {@code bench.batch} (500), {@code bench.queries} (200, each checked against exact search), {@code
 * bench.seconds} (8, per throughput phase), {@code bench.mergeWorkers} (2), {@code bench.gateway}
 * (true). See docs/benchmarks.md for the command.
 */
public final class VectorSearchBench {

  private static final String MODEL = "bench_768";

  private VectorSearchBench() {}

  public static void main(String[] args) throws Exception {
    int total = Integer.getInteger("bench.vectors", 100_000);
    int dim = Integer.getInteger("bench.dim", 768);
    int clusters = Integer.getInteger("bench.clusters", Math.max(10, total / 40));
    int batch = Integer.getInteger("bench.batch", 500);
    int queryCount = Integer.getInteger("bench.queries", 200);
    int seconds = Integer.getInteger("bench.seconds", 8);
    int mergeWorkers = Integer.getInteger("bench.mergeWorkers", 2);
    int indexThreads = Integer.getInteger("bench.indexThreads", 2);
    boolean gateway = Boolean.parseBoolean(System.getProperty("bench.gateway", "true"));
    boolean searches = Boolean.parseBoolean(System.getProperty("bench.search", "true"));
    boolean flushEachBatch = Boolean.getBoolean("bench.flushEachBatch");
    boolean cosine = Boolean.getBoolean("bench.cosine");
    List<String> formats = List.of(System.getProperty("bench.formats", "float,int7").split(","));

    System.out.printf(
        "%d x %d-d feature-like vectors (%d clusters), batch %d, HNSW M=%d beam=%d, merge workers"
            + " %d, index threads %d, %d cores, Java %s%n",
        total,
        dim,
        clusters,
        batch,
        LuceneVectorStore.HNSW_MAX_CONN,
        LuceneVectorStore.HNSW_BEAM_WIDTH,
        mergeWorkers,
        indexThreads,
        Runtime.getRuntime().availableProcessors(),
        Runtime.version());
    uptime("start");
    FeatureLikeVectors data = new FeatureLikeVectors(dim, clusters, 17);
    float[][] queries = new float[queryCount][];
    for (int q = 0; q < queryCount; q++) {
      queries[q] = data.vector(Long.MAX_VALUE / 2 + q); // never indexed
    }
    long start = System.nanoTime();
    int[][] exact = searches ? exactTop10(data, total, queries) : null;
    System.out.printf(
        "exact top-10 of %d queries in %.1f s%n", queryCount, (System.nanoTime() - start) / 1e9);

    for (String format : formats) {
      int bits =
          switch (format.strip()) {
            case "float" -> 0;
            case "int7" -> 7;
            case "int4" -> 4;
            default -> throw new IllegalArgumentException("bench.formats: " + format);
          };
      LuceneVectorStore.Options options =
          LuceneVectorStore.DEFAULTS
              .withQuantizedBits(bits)
              .withMergeWorkers(mergeWorkers)
              .withIndexThreads(indexThreads);
      Path dir = Files.createTempDirectory("vector-search-bench");
      if (cosine) {
        cosineIndex(dir, dim);
      }
      try (LuceneVectorStore store = LuceneVectorStore.open(dir, MODEL, dim, options)) {
        System.out.printf("%n== %s ==%n", format);
        build(store, data, total, batch, dir, flushEachBatch);
        if (searches) {
          search(store, data, total, queries, exact, seconds, gateway);
        }
      } finally {
        IOUtils.rm(dir);
      }
    }
    uptime("end");
  }

  private static void build(
      LuceneVectorStore store,
      FeatureLikeVectors data,
      int total,
      int batch,
      Path dir,
      boolean flushEachBatch)
      throws IOException {
    long start = System.nanoTime();
    long cpuStart = cpuNanos();
    long lastFlush = start;
    List<StoredImage> images = new ArrayList<>(batch);
    for (int i = 0; i < total; i++) {
      images.add(image("p" + i + "/0", data.vector(i), 1, "c" + i % 10, "Acme", 10.0, "IN_STOCK"));
      if (images.size() == batch || i == total - 1) {
        store.write(images, List.of());
        images.clear();
        if (flushEachBatch || System.nanoTime() - lastFlush > 1_000_000_000L) {
          store.flush(); // as the sink does: offsets move on once a second
          lastFlush = System.nanoTime();
        }
      }
      if ((i + 1) % 100_000 == 0 && i + 1 < total) {
        System.out.printf(
            "  %d vectors, %.0f vectors/s so far%n",
            i + 1, (i + 1) / ((System.nanoTime() - start) / 1e9));
      }
    }
    store.flush();
    double took = (System.nanoTime() - start) / 1e9;
    double cpu = (cpuNanos() - cpuStart) / 1e9;
    System.out.printf(
        "build: %d vectors in %.1f s = %.0f vectors/s (write+refresh per batch, flush %s),"
            + " %d segments; this process used %.1f CPU s (%.0f vectors per CPU second; merges may"
            + " still run)%n",
        total,
        took,
        total / took,
        flushEachBatch ? "after each batch" : "each 1 s",
        store.segmentCount(),
        cpu,
        total / cpu);
    Map<String, Long> bytes = new TreeMap<>();
    // The files of the last commit only: merged-away segments may still lie in the directory.
    try (FSDirectory directory = FSDirectory.open(dir)) {
      for (String name : SegmentInfos.readLatestCommit(directory).files(true)) {
        String ext = name.contains(".") ? name.substring(name.lastIndexOf('.') + 1) : name;
        bytes.merge(ext, Files.size(dir.resolve(name)), Long::sum);
      }
    }
    double perMillion = 1e6 / total / (1 << 20);
    long all = bytes.values().stream().mapToLong(Long::longValue).sum();
    long graph = bytes.getOrDefault("vex", 0L);
    long floats = bytes.getOrDefault("vec", 0L);
    long quantised = bytes.getOrDefault("veq", 0L);
    System.out.printf(
        "disk per 1M vectors: %.0f MB in all (%.0f MB in compound files of small segments);"
            + " graph (vex) %.0f MB, float vectors (vec) %.0f MB, quantised (veq) %.0f MB; memory"
            + " to search from RAM (graph + %s) %.0f MB; heap used %.0f MB%n",
        all * perMillion,
        bytes.getOrDefault("cfs", 0L) * perMillion,
        graph * perMillion,
        floats * perMillion,
        quantised * perMillion,
        quantised > 0 ? "quantised" : "floats",
        (graph + (quantised > 0 ? quantised : floats)) * perMillion,
        heapUsedMb());
  }

  private static void search(
      LuceneVectorStore store,
      FeatureLikeVectors data,
      int total,
      float[][] queries,
      int[][] exact,
      int seconds,
      boolean viaGateway)
      throws Exception {
    int found = 0;
    for (int q = 0; q < queries.length; q++) {
      Set<String> truth = new HashSet<>();
      for (int i : exact[q]) {
        truth.add("p" + i + "/0");
      }
      for (SearchHit hit : store.search(queries[q], 10, SearchFilter.NONE)) {
        if (truth.contains(hit.image().key().toString())) {
          found++;
        }
      }
    }
    System.out.printf("recall@10 vs exact: %.3f%n", found / (10.0 * queries.length));

    Searcher lucene = q -> store.search(queries[q], 10, SearchFilter.NONE).size();
    Result idle = measure("lucene", "idle", lucene, queries.length, seconds);
    Result loaded;
    try (Writer writer = new Writer(store, data, total)) {
      loaded = measure("lucene", "writer 100/s", lucene, queries.length, seconds);
      writer.report();
    }
    System.out.printf(
        "lucene: p99 while writing / idle p99 = %.2f%n", loaded.p99Ms() / idle.p99Ms());
    if (!viaGateway) {
      return;
    }
    GatewayConfig config = new GatewayConfig(Map.of(GatewayConfig.PORT_CONFIG, "0"));
    SearchService service =
        new SearchService(
            () -> new ActiveModel(new NoPhotos(store.dimension()), store),
            PhotoValidator.of(new ImageNormaliser()),
            UrlFetcher.of(ImageDownloader.from(new ImageSafetyConfig(Map.of()))),
            config);
    try (GatewayServer server =
        new GatewayServer(config, service, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
      URI uri = URI.create("http://127.0.0.1:" + server.start() + "/v1/search");
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      // facets=false: k products, nothing else (what Lucene alone is asked); the default also
      // counts
      // the facets of a pool of max(k, MIN_POOL) products, so it asks the store for more hits.
      Searcher lean = overHttp(http, uri, queries, "\"facets\":false,");
      Searcher withFacets = overHttp(http, uri, queries, "");
      HttpRequest health = HttpRequest.newBuilder(uri.resolve("/health")).GET().build();
      measure(
          "http",
          "GET /health",
          q -> http.send(health, HttpResponse.BodyHandlers.ofString()).statusCode(),
          queries.length,
          seconds);
      Result http1 = measure("gateway", "idle, facets=false", lean, queries.length, seconds);
      int ask = 10 * SearchService.HITS_PER_PRODUCT;
      Result luceneAsk =
          measure(
              "lucene",
              "idle, k=" + ask,
              q -> store.search(queries[q], ask, SearchFilter.NONE).size(),
              queries.length,
              seconds);
      // Lucene alone once more, right after, so that both see the same box load.
      Result lucene2 = measure("lucene", "idle again", lucene, queries.length, seconds);
      System.out.printf(
          "gateway (facets=false) / lucene at concurrency 8: %.2f of Lucene's QPS (%.0f vs %.0f);"
              + " p50 at 1: %.2f ms vs %.2f ms; p99 at 1: %.2f ms vs %.2f ms%n",
          http1.qps8() / lucene2.qps8(),
          http1.qps8(),
          lucene2.qps8(),
          http1.p50Ms(),
          lucene2.p50Ms(),
          http1.p99Ms(),
          lucene2.p99Ms());
      Result http2 = measure("gateway", "idle, with facets", withFacets, queries.length, seconds);
      int pool = Math.max(10, SearchService.MIN_POOL) * SearchService.HITS_PER_PRODUCT;
      Result lucenePool =
          measure(
              "lucene",
              "idle, k=" + pool,
              q -> store.search(queries[q], pool, SearchFilter.NONE).size(),
              queries.length,
              seconds);
      System.out.printf(
          "gateway with facets (a pool of %d hits) / lucene asking the same %d at concurrency 8:"
              + " %.2f (%.0f vs %.0f)%n",
          pool, pool, http2.qps8() / lucenePool.qps8(), http2.qps8(), lucenePool.qps8());
    }
  }

  /** {@code POST /v1/search} with each query vector, k=10 and the given extra JSON members. */
  private static Searcher overHttp(HttpClient http, URI uri, float[][] queries, String extra) {
    HttpRequest[] requests = new HttpRequest[queries.length];
    for (int q = 0; q < queries.length; q++) {
      StringBuilder json = new StringBuilder("{" + extra + "\"k\":10,\"vector\":[");
      for (int j = 0; j < queries[q].length; j++) {
        json.append(j == 0 ? "" : ",").append(queries[q][j]);
      }
      requests[q] =
          HttpRequest.newBuilder(uri)
              .header("Content-Type", "application/json")
              .POST(BodyPublishers.ofString(json.append("]}").toString()))
              .build();
    }
    return q -> {
      HttpResponse<String> response =
          http.send(requests[q], HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      if (response.statusCode() != 200) {
        throw new IllegalStateException("HTTP " + response.statusCode() + ": " + response.body());
      }
      return 10;
    };
  }

  private interface Searcher {
    int search(int query) throws Exception;
  }

  private record Result(double p50Ms, double p99Ms, double qps8) {}

  /** p50/p99 one query at a time, then QPS with 8 threads for {@code seconds}. */
  private static Result measure(
      String what, String load, Searcher searcher, int queries, int seconds) throws Exception {
    for (int i = 0; i < Math.min(200, queries * 2); i++) {
      searcher.search(i % queries); // warm up
    }
    int n = Math.max(1000, queries);
    long[] nanos = new long[n];
    for (int i = 0; i < n; i++) {
      long start = System.nanoTime();
      searcher.search(i % queries);
      nanos[i] = System.nanoTime() - start;
    }
    Arrays.sort(nanos);
    double p50 = nanos[n / 2] / 1e6;
    double p99 = nanos[(int) Math.ceil(n * 0.99) - 1] / 1e6;

    ExecutorService pool = Executors.newFixedThreadPool(8);
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong done = new AtomicLong();
    List<Future<?>> clients = new ArrayList<>();
    long start = System.nanoTime();
    for (int t = 0; t < 8; t++) {
      int offset = t * 37;
      clients.add(
          pool.submit(
              () -> {
                int i = offset;
                while (running.get()) {
                  searcher.search(i++ % queries);
                  done.incrementAndGet();
                }
                return null;
              }));
    }
    Thread.sleep(seconds * 1000L);
    running.set(false);
    for (Future<?> client : clients) {
      client.get();
    }
    double qps = done.get() / ((System.nanoTime() - start) / 1e9);
    pool.shutdown();
    System.out.printf(
        "%-7s %-12s concurrency 1: p50 %.2f ms p99 %.2f ms (n=%d) | concurrency 8: %.0f QPS%n",
        what, load, p50, p99, n, qps);
    return new Result(p50, p99, qps);
  }

  /**
   * Adds 100 new vectors a second (a batch of 10 every 100 ms, visible on return) and flushes once
   * a second, as the sink does under a steady trickle of catalog changes.
   */
  private static final class Writer implements AutoCloseable {
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;
    private final AtomicLong written = new AtomicLong();
    private final long started = System.nanoTime();
    private volatile long worstWriteNanos;

    Writer(LuceneVectorStore store, FeatureLikeVectors data, int offset) {
      thread =
          new Thread(
              () -> {
                long next = System.nanoTime();
                long lastFlush = next;
                while (running.get()) {
                  List<StoredImage> batch = new ArrayList<>(10);
                  for (int i = 0; i < 10; i++) {
                    long id = offset + written.getAndIncrement();
                    batch.add(image("p" + id + "/0", data.vector(id), 1, "c1", "Acme", 10.0, "x"));
                  }
                  long start = System.nanoTime();
                  store.write(batch, List.of());
                  worstWriteNanos = Math.max(worstWriteNanos, System.nanoTime() - start);
                  if (System.nanoTime() - lastFlush > 1_000_000_000L) {
                    store.flush();
                    lastFlush = System.nanoTime();
                  }
                  next += 100_000_000L;
                  long wait = next - System.nanoTime();
                  if (wait > 0) {
                    try {
                      Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                }
              },
              "bench-writer");
      thread.start();
    }

    void report() {
      double seconds = (System.nanoTime() - started) / 1e9;
      System.out.printf(
          "  writer: %d vectors in %.1f s (%.0f/s), slowest write+refresh %.1f ms%n",
          written.get(), seconds, written.get() / seconds, worstWriteNanos / 1e6);
    }

    @Override
    public void close() throws InterruptedException {
      running.set(false);
      thread.join();
    }
  }

  /** Exact top-10 by dot product for each query, in one pass over the corpus. */
  private static int[][] exactTop10(FeatureLikeVectors data, int total, float[][] queries)
      throws Exception {
    int threads = Runtime.getRuntime().availableProcessors();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<List<PriorityQueue<float[]>>>> parts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int from = (int) ((long) total * t / threads);
      int to = (int) ((long) total * (t + 1) / threads);
      parts.add(
          pool.submit(
              () -> {
                // {score, index}, smallest score first
                List<PriorityQueue<float[]>> tops = new ArrayList<>();
                for (int q = 0; q < queries.length; q++) {
                  tops.add(new PriorityQueue<>((a, b) -> Float.compare(a[0], b[0])));
                }
                for (int i = from; i < to; i++) {
                  float[] v = data.vector(i);
                  for (int q = 0; q < queries.length; q++) {
                    float score = ClusteredVectors.dot(queries[q], v);
                    PriorityQueue<float[]> top = tops.get(q);
                    if (top.size() < 10) {
                      top.add(new float[] {score, i});
                    } else if (score > top.peek()[0]) {
                      top.poll();
                      top.add(new float[] {score, i});
                    }
                  }
                }
                return tops;
              }));
    }
    List<PriorityQueue<float[]>> merged = new ArrayList<>();
    for (int q = 0; q < queries.length; q++) {
      merged.add(new PriorityQueue<>((a, b) -> Float.compare(a[0], b[0])));
    }
    for (Future<List<PriorityQueue<float[]>>> part : parts) {
      List<PriorityQueue<float[]>> tops = part.get();
      for (int q = 0; q < queries.length; q++) {
        for (float[] entry : tops.get(q)) {
          merged.get(q).add(entry);
          if (merged.get(q).size() > 10) {
            merged.get(q).poll();
          }
        }
      }
    }
    pool.shutdown();
    int[][] exact = new int[queries.length][];
    for (int q = 0; q < queries.length; q++) {
      exact[q] = merged.get(q).stream().mapToInt(e -> (int) e[1]).toArray();
    }
    return exact;
  }

  /**
   * An index as earlier versions made it (COSINE): the store keeps an existing field's similarity,
   * so this measures what DOT_PRODUCT saves. Its one document is a vector far from the data.
   */
  private static void cosineIndex(Path dir, int dim) throws IOException {
    try (FSDirectory directory = FSDirectory.open(dir);
        org.apache.lucene.index.IndexWriter writer =
            new org.apache.lucene.index.IndexWriter(
                directory, new org.apache.lucene.index.IndexWriterConfig())) {
      float[] v = new float[dim];
      v[0] = 1;
      org.apache.lucene.document.Document doc = new org.apache.lucene.document.Document();
      doc.add(
          new org.apache.lucene.document.StringField(
              "key", "seed/0", org.apache.lucene.document.Field.Store.YES));
      doc.add(
          new org.apache.lucene.document.KnnFloatVectorField(
              "vector", v, org.apache.lucene.index.VectorSimilarityFunction.COSINE));
      writer.addDocument(doc);
      writer.setLiveCommitData(
          Map.of("lookalike.modelId", MODEL, "lookalike.dimension", Integer.toString(dim))
              .entrySet());
      writer.commit();
    }
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static double heapUsedMb() {
    System.gc();
    Runtime runtime = Runtime.getRuntime();
    return (runtime.totalMemory() - runtime.freeMemory()) / (double) (1 << 20);
  }

  private static void uptime(String when) {
    try {
      Process process = new ProcessBuilder("uptime").redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      System.out.printf("uptime (%s): %s", when, out);
    } catch (IOException e) {
      System.out.println("uptime: " + e.getMessage());
    }
  }

  /** The gateway needs a model; vector searches never call it. */
  private record NoPhotos(int dimension) implements Embedder {
    @Override
    public ModelInfo model() {
      return new ModelInfo(MODEL, "bench", dimension);
    }

    @Override
    public List<EmbeddingResult> embed(List<byte[]> images) {
      throw new UnsupportedOperationException("vector searches only");
    }

    @Override
    public void close() {}
  }
}
