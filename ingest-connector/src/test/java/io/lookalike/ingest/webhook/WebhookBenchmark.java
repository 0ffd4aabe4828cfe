package io.lookalike.ingest.webhook;

import io.lookalike.testkit.KafkaBroker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Webhook throughput over HTTP with broker acknowledgement (acks=all, one local broker): events/s
 * for single-event requests from several concurrent clients, and for batches. Args: [seconds per
 * run].
 */
public final class WebhookBenchmark {

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    System.setProperty("sun.net.httpserver.nodelay", "true");
    try (KafkaBroker broker = KafkaBroker.start()) {
      broker.createTopics(4, "bench.product-events");
      WebhookConfig config =
          new WebhookConfig(
              Map.of(
                  WebhookConfig.BOOTSTRAP_SERVERS_CONFIG,
                  broker.bootstrapServers(),
                  WebhookConfig.SECRET_CONFIG,
                  "bench",
                  WebhookConfig.HOST_CONFIG,
                  "127.0.0.1",
                  WebhookConfig.PORT_CONFIG,
                  "0",
                  WebhookConfig.TOPIC_CONFIG,
                  "bench.product-events"));
      try (WebhookServer server =
          new WebhookServer(config, new WebhookReceiver(config, new SimpleMeterRegistry()))) {
        URI uri = URI.create("http://127.0.0.1:" + server.start() + WebhookServer.PATH);
        System.out.printf(
            "%d s per run, 1 local broker, acks=all, %d cores%n",
            seconds, Runtime.getRuntime().availableProcessors());
        run(uri, 1, 1, 2);
        for (int[] run : new int[][] {{1, 1}, {16, 1}, {64, 1}, {4, 100}}) {
          run(uri, run[0], run[1], seconds);
        }
      }
    }
    System.exit(0);
  }

  private static void run(URI uri, int clients, int batch, int seconds) throws Exception {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    AtomicInteger ids = new AtomicInteger();
    AtomicInteger events = new AtomicInteger();
    AtomicInteger failures = new AtomicInteger();
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    List<Future<?>> done = new ArrayList<>();
    long start = System.nanoTime();
    for (int c = 0; c < clients; c++) {
      done.add(
          pool.submit(
              () -> {
                while (System.nanoTime() < end) {
                  StringBuilder body = new StringBuilder(batch > 1 ? "[" : "");
                  for (int i = 0; i < batch; i++) {
                    int id = ids.incrementAndGet();
                    body.append(i > 0 ? "," : "")
                        .append(WebhookIT.event("b" + id, "p" + (id % 1000), id));
                  }
                  body.append(batch > 1 ? "]" : "");
                  HttpResponse<String> response =
                      http.send(
                          HttpRequest.newBuilder(uri)
                              .header("Authorization", "Bearer bench")
                              .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                              .build(),
                          HttpResponse.BodyHandlers.ofString());
                  if (response.statusCode() == 202) {
                    events.addAndGet(batch);
                  } else {
                    failures.incrementAndGet();
                  }
                }
                return null;
              }));
    }
    for (Future<?> f : done) {
      f.get();
    }
    pool.shutdown();
    double elapsed = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        "clients %3d, %3d event(s)/request: %8.0f events/s acknowledged (%d failures)%n",
        clients, batch, events.get() / elapsed, failures.get());
  }
}
