package io.lookalike.local;

import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The local mode's numbers, on real parts: end-to-end throughput (publish → searchable) for a
 * burst, freshness (occurredAt → searchable) at a steady ~10 events/s, and search latency over HTTP
 * by vector and by photo. Run it with {@code ./mvnw -o -q -pl deploy/local test-compile exec:java
 * -Dbench=io.lookalike.local.LocalModeBench} ({@code -Dbench.burst=N}, {@code -Dbench.steady=N}
 * change the 500 / 300 events).
 */
public final class LocalModeBench {

  public static void main(String[] args) throws Exception {
    int burst = Integer.getInteger("bench.burst", 500);
    int steady = Integer.getInteger("bench.steady", 300);
    List<Photo> photos = new ArrayList<>(SampleImages.photos("train", burst + steady));
    Path data = Files.createTempDirectory("lookalike-bench");
    HttpClient http = HttpClient.newHttpClient();

    long t0 = System.nanoTime();
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
                        false,
                        Map.of()))
                .start();
        KafkaProducer<String, ProductEvent> producer =
            LocalMode.eventProducer(local.bootstrapServers())) {
      System.out.printf(
          "start-up (broker, model, stages, gateway): %d ms%n",
          (System.nanoTime() - t0) / 1_000_000);
      String topic = local.topics().productEvents();

      // 1. Burst: everything at once, time until the last one is searchable.
      long b0 = System.nanoTime();
      for (Photo p : photos.subList(0, burst)) {
        producer.send(new ProducerRecord<>(topic, id(p), event(p)));
      }
      producer.flush();
      waitForCount(local, burst);
      double seconds = (System.nanoTime() - b0) / 1e9;
      System.out.printf(
          "burst: %d photos fetched, embedded and indexed in %.1f s = %.1f images/s end to end%n",
          burst, seconds, burst / seconds);

      // 2. Steady ~10 events/s: freshness from occurredAt to searchable, seen by polling the store
      // the
      // gateway searches every 5 ms (the indexer's lookalike.freshness timer says the same, but its
      // percentiles would also hold the burst above).
      Map<String, Long> published = new java.util.concurrent.ConcurrentHashMap<>();
      List<Long> freshness = java.util.Collections.synchronizedList(new ArrayList<>());
      Thread watcher =
          new Thread(
              () -> {
                while (!Thread.currentThread().isInterrupted()) {
                  for (var entry : published.entrySet()) {
                    if (local
                        .store()
                        .get(new io.lookalike.schemas.ImageKey(entry.getKey(), "main"))
                        .isPresent()) {
                      freshness.add(System.currentTimeMillis() - entry.getValue());
                      published.remove(entry.getKey());
                    }
                  }
                  try {
                    Thread.sleep(5);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              });
      watcher.start();
      long s0 = System.nanoTime();
      for (int i = 0; i < steady; i++) {
        Photo p = photos.get(burst + i);
        ProductEvent e = event(p);
        published.put(id(p), e.getOccurredAt().toEpochMilli());
        producer.send(new ProducerRecord<>(topic, id(p), e));
        long next = s0 + (i + 1) * 100_000_000L;
        long sleep = next - System.nanoTime();
        if (sleep > 0) {
          Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
        }
      }
      producer.flush();
      waitForCount(local, burst + steady);
      Thread.sleep(50);
      watcher.interrupt();
      watcher.join();
      List<Long> nanos = freshness.stream().map(ms -> ms * 1_000_000).toList();
      print("steady 10 events/s: freshness, occurredAt -> searchable", new ArrayList<>(nanos));
      List<Long> latencies = new ArrayList<>();

      // 3. Search latency over HTTP.
      URI search = URI.create("http://127.0.0.1:" + local.gatewayPort() + "/v1/search");
      List<float[]> vectors = new ArrayList<>();
      for (Photo p : photos.subList(0, 300)) {
        vectors.add(local.store().imagesOf(id(p)).get(0).vector());
      }
      for (int round = 0; round < 2; round++) { // first round warms up
        latencies.clear();
        for (float[] v : vectors) {
          String body = "{\"k\":10,\"vector\":" + Arrays.toString(v) + "}";
          long q0 = System.nanoTime();
          HttpResponse<String> r =
              http.send(
                  HttpRequest.newBuilder(search)
                      .header("Content-Type", "application/json")
                      .POST(HttpRequest.BodyPublishers.ofString(body))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
          latencies.add(System.nanoTime() - q0);
          check(r);
        }
      }
      print("search by vector (k=10, " + (burst + steady) + " images)", latencies);
      latencies.clear();
      for (Photo p : photos.subList(0, 100)) {
        byte[] jpeg = p.bytes();
        long q0 = System.nanoTime();
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(search + "?k=10"))
                    .header("Content-Type", "image/jpeg")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(jpeg))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        latencies.add(System.nanoTime() - q0);
        check(r);
      }
      print("search by photo (k=10, includes decode + embed)", latencies);
    }
  }

  private static void check(HttpResponse<String> r) {
    if (r.statusCode() != 200) {
      throw new IllegalStateException("search failed: " + r.statusCode() + " " + r.body());
    }
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

  private static void waitForCount(LocalMode local, long count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
    while (local.store().count() < count) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "only " + local.store().count() + " of " + count + " indexed");
      }
      Thread.sleep(20);
    }
  }

  private static String id(Photo p) {
    return "p-" + p.id();
  }

  private static ProductEvent event(Photo p) {
    return ProductEvent.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setType(EventType.UPSERT)
        .setProductId(id(p))
        .setVersion(1)
        .setOccurredAt(Instant.now())
        .setProduct(ProductMetadata.newBuilder().setTitle(p.id()).setCategory(p.category()).build())
        .setImages(
            List.of(
                ImageRef.newBuilder()
                    .setImageId("main")
                    .setUrl(p.path().toUri().toString())
                    .build()))
        .build();
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
