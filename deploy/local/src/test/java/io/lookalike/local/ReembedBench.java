package io.lookalike.local;

import io.lookalike.lifecycle.QualityGate;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.SampleImages.Photo;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine;

/**
 * Re-embedding's numbers on real parts: the embedder's raw throughput with the new model, the
 * replay's throughput through the whole pipeline (ratio), the time from {@code lookalike reembed}
 * to the switch, and search latency by photo while the replay runs vs idle. Run with {@code ./mvnw
 * -o -q -pl deploy/local test-compile exec:java -Dbench=io.lookalike.local.ReembedBench} ({@code
 * -Dbench.catalog=sample} the bundled 250-photo catalog, {@code all} every photo of
 * clothing-small).
 */
public final class ReembedBench {

  public static void main(String[] args) throws Exception {
    String catalog = System.getProperty("bench.catalog", "sample");
    Path model2 =
        Path.of(ReembedBench.class.getResource("/models/mobilenet_v2_block13.pt").toURI());
    Path data = Files.createTempDirectory("lookalike-reembed-bench");
    HttpClient http = HttpClient.newHttpClient();
    boolean sample = catalog.equals("sample");
    try (LocalMode local =
        new LocalMode(
                new LocalMode.Options(
                    data,
                    "127.0.0.1",
                    freePort(),
                    freePort(),
                    0,
                    "127.0.0.1",
                    null,
                    2,
                    sample,
                    Map.of()))
            .start()) {
      long expected = sample ? 250 : publishAll(local);
      long t0 = System.nanoTime();
      long last = -1;
      long lastChange = System.nanoTime();
      while (local.store().count() < expected && System.nanoTime() - lastChange < 60_000_000_000L) {
        Thread.sleep(200);
        if (local.store().count() != last) {
          last = local.store().count();
          lastChange = System.nanoTime();
        }
      }
      expected =
          local.store().count(); // a photo the fetcher refused is a dead letter, not an image
      System.out.printf(
          "catalog %s: %d images indexed with %s in %.1f s%n",
          catalog, expected, local.store().modelId(), (System.nanoTime() - t0) / 1e9);
      URI search = URI.create("http://127.0.0.1:" + local.gatewayPort() + "/v1/search?k=10");
      List<byte[]> queries = SampleImages.photos("test", 20).stream().map(Photo::bytes).toList();

      // 1. Raw throughput of the new model on the topic's (normalised) bytes, batches of 32.
      List<byte[]> normalised = new ArrayList<>();
      for (ProductImage image :
          QualityGate.sampleLiveImages(
              local.bootstrapServers(), local.topics().productImages(), local.store(), 256, 1)) {
        byte[] b = new byte[image.getBytes().remaining()];
        image.getBytes().duplicate().get(b);
        normalised.add(b);
      }
      double raw;
      try (DjlEmbedder embedder = DjlEmbedder.load(EmbeddingModelConfig.of(model2.toString()))) {
        embedder.embed(normalised.subList(0, 32));
        long r0 = System.nanoTime();
        for (int from = 0; from < normalised.size(); from += 32) {
          embedder.embed(normalised.subList(from, Math.min(normalised.size(), from + 32)));
        }
        raw = normalised.size() / ((System.nanoTime() - r0) / 1e9);
      }
      System.out.printf(
          "raw embedder throughput (%s, batch 32, %d images): %.1f images/s%n",
          model2.getFileName(), normalised.size(), raw);

      // 2. Idle search latency by photo.
      List<Long> idle = new ArrayList<>();
      for (int i = 0; i < 60; i++) {
        idle.add(timeSearch(http, search, queries.get(i % queries.size())));
      }

      // 3. Re-embed while a client searches (one search by photo at a time, 100 ms apart).
      List<Long> during = new ArrayList<>();
      AtomicBoolean replaying = new AtomicBoolean(true);
      CompletableFuture<Void> client =
          CompletableFuture.runAsync(
              () -> {
                int i = 0;
                while (replaying.get()) {
                  try {
                    during.add(timeSearch(http, search, queries.get(i++ % queries.size())));
                    Thread.sleep(100);
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                }
              });
      long s0 = System.nanoTime();
      CompletableFuture<Integer> reembed =
          CompletableFuture.supplyAsync(
              () ->
                  new CommandLine(new Lookalike())
                      .execute(
                          "reembed",
                          "--model",
                          model2.toString(),
                          "--gateway",
                          "http://127.0.0.1:" + local.gatewayPort()));
      String newModel = null;
      long caughtUpNanos = 0;
      while (caughtUpNanos == 0) {
        Thread.sleep(100);
        for (String id : local.pipelines().modelIds()) {
          if (!id.equals(local.store().modelId()) && local.pipelines().progress(id).caughtUp()) {
            newModel = id;
            caughtUpNanos = System.nanoTime();
          }
        }
      }
      replaying.set(false);
      client.get();
      int exit = reembed.get();
      long switched = System.nanoTime();
      double replaySeconds = (caughtUpNanos - s0) / 1e9;
      long vectors = local.pipelines().pipeline(newModel).store().count();
      System.out.printf(
          "replay: %d images re-embedded and indexed in %.1f s = %.1f images/s = %.2f of the raw "
              + "embedder throughput (while serving searches)%n",
          vectors, replaySeconds, vectors / replaySeconds, vectors / replaySeconds / raw);
      System.out.printf(
          "reembed -> switch: %.1f s (exit %d; replay %.1f s, then check + activate)%n",
          (switched - s0) / 1e9, exit, replaySeconds);
      print("search by photo, idle", idle);
      print("search by photo, during the replay", during);
    }
  }

  private static long publishAll(LocalMode local) throws Exception {
    List<Photo> photos = new ArrayList<>();
    for (String split : List.of("train", "validation", "test")) {
      photos.addAll(SampleImages.photos(split, 100_000));
    }
    try (KafkaProducer<String, ProductEvent> producer =
        LocalMode.eventProducer(local.bootstrapServers())) {
      for (Photo p : photos) {
        String id = "p-" + p.id();
        producer.send(
            new ProducerRecord<>(
                local.topics().productEvents(),
                id,
                ProductEvent.newBuilder()
                    .setEventId(UUID.randomUUID().toString())
                    .setType(EventType.UPSERT)
                    .setProductId(id)
                    .setVersion(1)
                    .setOccurredAt(Instant.now())
                    .setProduct(
                        ProductMetadata.newBuilder()
                            .setTitle(p.id())
                            .setCategory(p.category())
                            .build())
                    .setImages(
                        List.of(
                            ImageRef.newBuilder()
                                .setImageId("main")
                                .setUrl(p.path().toUri().toString())
                                .build()))
                    .build()));
      }
    }
    return photos.size();
  }

  private static long timeSearch(HttpClient http, URI search, byte[] jpeg) throws Exception {
    long q0 = System.nanoTime();
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(search)
                .header("Content-Type", "image/jpeg")
                .POST(HttpRequest.BodyPublishers.ofByteArray(jpeg))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("search failed: " + r.statusCode() + " " + r.body());
    }
    return System.nanoTime() - q0;
  }

  private static void print(String what, List<Long> nanos) {
    long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
    System.out.printf(
        "%s: n=%d p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
        what,
        sorted.length,
        sorted[sorted.length / 2] / 1e6,
        sorted[(int) Math.ceil(sorted.length * 0.99) - 1] / 1e6,
        sorted[sorted.length - 1] / 1e6);
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
