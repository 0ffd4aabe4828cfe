package io.lookalike.gateway;

import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.ImageSafetyConfig;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.store.StoredImage;
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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntFunction;
import org.apache.lucene.util.IOUtils;

/**
 * Search latency over HTTP (client side, one request at a time) by vector and by photo, against
 * ~500 indexed sample photos on the real model and Lucene index. Run it with {@code ./mvnw -q -pl
 * query-gateway test-compile exec:java -Dbench=io.lookalike.gateway.GatewayBenchmark
 * -Dexec.args="[photos] [queries]"}.
 */
public final class GatewayBenchmark {

  private GatewayBenchmark() {}

  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 500;
    int queries = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    Path dir = Files.createTempDirectory("gateway-bench");
    try (DjlEmbedder embedder = DjlEmbedder.loadDefault();
        LuceneVectorStore store =
            LuceneVectorStore.open(dir, embedder.model().modelId(), embedder.model().dimension())) {
      List<SampleImages.Photo> photos = SampleImages.photos("train", count);
      long start = System.nanoTime();
      List<StoredImage> indexed = GatewayFixture.index(embedder, store, photos, 32);
      System.out.printf(
          "indexed %d photos in %.1f s%n", indexed.size(), (System.nanoTime() - start) / 1e9);

      GatewayConfig config = new GatewayConfig(Map.of(GatewayConfig.PORT_CONFIG, "0"));
      SearchService service =
          new SearchService(
              () -> new ActiveModel(embedder, store),
              PhotoValidator.of(new ImageNormaliser()),
              UrlFetcher.of(ImageDownloader.from(new ImageSafetyConfig(Map.of()))),
              config);
      try (GatewayServer server =
          new GatewayServer(
              config, service, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
        URI search = URI.create("http://127.0.0.1:" + server.start() + "/v1/search");
        HttpClient http = HttpClient.newHttpClient();
        Random random = new Random(42);
        List<SampleImages.Photo> queryPhotos = SampleImages.photos("test", 50);

        IntFunction<HttpRequest> byVector =
            i -> {
              float[] v = indexed.get(random.nextInt(indexed.size())).vector();
              StringBuilder json = new StringBuilder("{\"k\":10,\"vector\":[");
              for (int j = 0; j < v.length; j++) {
                json.append(j == 0 ? "" : ",").append(v[j]);
              }
              return HttpRequest.newBuilder(search)
                  .header("Content-Type", "application/json")
                  .POST(BodyPublishers.ofString(json.append("]}").toString()))
                  .build();
            };
        IntFunction<HttpRequest> byPhoto =
            i ->
                HttpRequest.newBuilder(search)
                    .header("Content-Type", "image/jpeg")
                    .POST(
                        BodyPublishers.ofByteArray(queryPhotos.get(i % queryPhotos.size()).bytes()))
                    .build();

        report("vector", http, byVector, queries);
        report("photo", http, byPhoto, Math.max(20, queries / 2));
      }
    } finally {
      IOUtils.rm(dir);
    }
  }

  private static void report(String by, HttpClient http, IntFunction<HttpRequest> requests, int n)
      throws Exception {
    for (int i = 0; i < Math.min(20, n); i++) {
      check(http.send(requests.apply(i), HttpResponse.BodyHandlers.ofString()));
    }
    long[] nanos = new long[n];
    for (int i = 0; i < n; i++) {
      HttpRequest request = requests.apply(i);
      long start = System.nanoTime();
      check(http.send(request, HttpResponse.BodyHandlers.ofString()));
      nanos[i] = System.nanoTime() - start;
    }
    Arrays.sort(nanos);
    System.out.printf(
        "by %-6s n=%d  p50 %.1f ms  p99 %.1f ms  max %.1f ms%n",
        by, n, nanos[n / 2] / 1e6, nanos[(int) Math.ceil(n * 0.99) - 1] / 1e6, nanos[n - 1] / 1e6);
  }

  private static void check(HttpResponse<String> response) {
    if (response.statusCode() != 200) {
      throw new IllegalStateException("HTTP " + response.statusCode() + ": " + response.body());
    }
  }
}
