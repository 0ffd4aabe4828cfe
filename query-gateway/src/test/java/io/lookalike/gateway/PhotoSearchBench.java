package io.lookalike.gateway;

import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.ImageSafetyConfig;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.lookalike.testkit.SampleImages;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.lucene.util.IOUtils;

/**
 * Photo-search throughput and p50/p99 through the gateway's HTTP API at 1, 2, 4 and 8 clients, with
 * query-embedding batching on ({@code gateway.embed.batch.max.size}) and off (1), and the raw model
 * at the same batch size on the same normalised photos, in one run; prints the ratio. Run it with
 * {@code ./mvnw -q -pl query-gateway test-compile exec:java
 * -Dbench=io.lookalike.gateway.PhotoSearchBench -Dexec.args="[indexed photos] [searches per
 * setting] [batch size]"}.
 */
public final class PhotoSearchBench {

  private static final int[] CLIENTS = {1, 2, 4, 8};

  private PhotoSearchBench() {}

  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    int searches = args.length > 1 ? Integer.parseInt(args[1]) : 64;
    int batch = args.length > 2 ? Integer.parseInt(args[2]) : 8;
    Path dir = Files.createTempDirectory("photo-search-bench");
    try (DjlEmbedder embedder = DjlEmbedder.loadDefault();
        LuceneVectorStore store =
            LuceneVectorStore.open(dir, embedder.model().modelId(), embedder.model().dimension())) {
      GatewayFixture.index(embedder, store, SampleImages.photos("train", count), 32);
      List<byte[]> queries =
          SampleImages.photos("test", 64).stream().map(SampleImages.Photo::bytes).toList();
      ImageNormaliser normaliser = new ImageNormaliser();
      List<byte[]> normalised = new ArrayList<>();
      for (byte[] q : queries) {
        normalised.add(normaliser.normalise(q).bytes());
      }
      System.out.printf(
          "indexed %d photos; %d searches per setting; batch %d; %d cores%n",
          count, searches, batch, Runtime.getRuntime().availableProcessors());

      // The raw model is measured right before each row: on a shared box the load drifts within a
      // run, so one number for the whole run would make the ratio meaningless.
      System.out.printf(
          "| batching | clients | searches/s | p50 ms | p99 ms | raw model batch %d img/s | ratio |%n",
          batch);
      System.out.println("| --- | --- | --- | --- | --- | --- | --- |");
      double best = 0;
      double bestRaw = 0;
      for (int maxSize : new int[] {1, batch}) {
        GatewayConfig config =
            new GatewayConfig(
                Map.of(
                    GatewayConfig.PORT_CONFIG,
                    "0",
                    GatewayConfig.EMBED_BATCH_MAX_SIZE_CONFIG,
                    Integer.toString(maxSize)));
        try (SearchService service =
                new SearchService(
                    () -> new ActiveModel(embedder, store),
                    PhotoValidator.of(normaliser),
                    UrlFetcher.of(ImageDownloader.from(new ImageSafetyConfig(Map.of()))),
                    config);
            GatewayServer server =
                new GatewayServer(
                    config, service, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
          URI uri = URI.create("http://127.0.0.1:" + server.start() + "/v1/search?k=10");
          HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
          run(http, uri, queries, 1, Math.min(8, searches)); // warm-up
          for (int clients : CLIENTS) {
            double raw =
                rawImagesPerSecond(embedder, normalised, batch, Math.max(16, searches / 2));
            Result r = run(http, uri, queries, clients, searches);
            System.out.printf(
                "| %s | %d | %.1f | %.0f | %.0f | %.1f | %.2f |%n",
                maxSize == 1 ? "off" : "on (" + maxSize + ")",
                clients,
                r.perSecond,
                r.p50Ms,
                r.p99Ms,
                raw,
                r.perSecond / raw);
            if (maxSize > 1 && clients == CLIENTS[CLIENTS.length - 1]) {
              best = r.perSecond;
              bestRaw = raw;
            }
          }
        }
      }
      System.out.printf(
          "ratio: gateway at %d clients, batching on / raw model at batch %d = %.2f%n",
          CLIENTS[CLIENTS.length - 1], batch, best / bestRaw);
    } finally {
      IOUtils.rm(dir);
    }
  }

  private record Result(double perSecond, double p50Ms, double p99Ms) {}

  private static Result run(HttpClient http, URI uri, List<byte[]> photos, int clients, int n)
      throws Exception {
    long[] nanos = new long[n];
    AtomicInteger next = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    long start = System.nanoTime();
    try {
      List<Future<?>> workers = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        workers.add(
            pool.submit(
                () -> {
                  for (int i; (i = next.getAndIncrement()) < n; ) {
                    HttpRequest request =
                        HttpRequest.newBuilder(uri)
                            .header("Content-Type", "image/jpeg")
                            .POST(BodyPublishers.ofByteArray(photos.get(i % photos.size())))
                            .build();
                    long t = System.nanoTime();
                    HttpResponse<String> response =
                        http.send(request, HttpResponse.BodyHandlers.ofString());
                    nanos[i] = System.nanoTime() - t;
                    if (response.statusCode() != 200) {
                      throw new IllegalStateException(
                          "HTTP " + response.statusCode() + ": " + response.body());
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> w : workers) {
        w.get();
      }
    } finally {
      pool.shutdownNow();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    Arrays.sort(nanos);
    return new Result(n / seconds, nanos[n / 2] / 1e6, nanos[(int) Math.ceil(n * 0.99) - 1] / 1e6);
  }

  /** The model alone on already-normalised photos, {@code batch} at a time. */
  private static double rawImagesPerSecond(
      DjlEmbedder embedder, List<byte[]> photos, int batch, int n) {
    List<byte[]> one = new ArrayList<>();
    for (int i = 0; i < batch; i++) {
      one.add(photos.get(i % photos.size()));
    }
    embedder.embed(one); // warm-up
    int done = 0;
    long start = System.nanoTime();
    for (int b = 0; done < n; b++) {
      List<byte[]> slice = new ArrayList<>();
      for (int i = 0; i < batch; i++) {
        slice.add(photos.get((b * batch + i) % photos.size()));
      }
      embedder.embed(slice);
      done += batch;
    }
    return done / ((System.nanoTime() - start) / 1e9);
  }
}
