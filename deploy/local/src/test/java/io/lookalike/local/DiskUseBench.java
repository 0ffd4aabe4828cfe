package io.lookalike.local;

import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.SampleImages.Photo;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;

/**
 * Bytes on disk per 1,000 photos in the local mode, per topic and per store (product-images, each
 * model's buffer changelog, embeddings, photo cache, thumbnails, Lucene index), with 1 model and
 * then with 2 (the second registered as a candidate, which replays product-images). {@code
 * -Dbench.before=true} gives every buffer changelog Kafka's default segment bounds (1 GiB, 7 days,
 * dirty ratio 0.5: how it was before the bound), so that the two runs compare. Sizes are blocks in
 * use ({@code du -B1}), read once the models have caught up and again after {@code bench.settle.s}
 * (default 45 s: a few rounds of the log cleaner). Run with {@code ./mvnw -o -q -pl deploy/local
 * test-compile exec:java -Dbench=io.lookalike.local.DiskUseBench} ({@code -Dbench.photos=N} for
 * another count than 1,000).
 */
public final class DiskUseBench {

  public static void main(String[] args) throws Exception {
    int count = Integer.getInteger("bench.photos", 1000);
    boolean before = Boolean.getBoolean("bench.before");
    int settle = Integer.getInteger("bench.settle.s", 45);
    List<Photo> photos = new ArrayList<>();
    for (String split : List.of("train", "validation", "test")) {
      if (photos.size() < count) {
        photos.addAll(SampleImages.photos(split, count - photos.size()));
      }
    }
    Path model2 =
        Path.of(DiskUseBench.class.getResource("/models/mobilenet_v2_block13.pt").toURI());
    Path data = Files.createTempDirectory("lookalike-diskuse-bench");
    long photoBytes = 0;
    for (Photo p : photos) {
      photoBytes += p.bytes().length;
    }
    System.out.printf(
        "DiskUseBench: %d photos (%.1f MB as files), buffer changelog %s%n",
        photos.size(),
        photoBytes / 1e6,
        before ? "BEFORE (1 GiB segments, 7 days, dirty ratio 0.5)" : "AFTER (bounded)");
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
        Admin admin =
            Admin.create(
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, local.bootstrapServers()))) {
      String first = local.store().modelId();
      if (before) {
        unbound(admin, first);
      }
      long t0 = System.nanoTime();
      try (KafkaProducer<String, ProductEvent> producer =
          LocalMode.eventProducer(local.bootstrapServers())) {
        for (Photo p : photos) {
          String id = "p-" + p.id();
          producer.send(new ProducerRecord<>(local.topics().productEvents(), id, event(id, p)));
        }
      }
      awaitCaughtUp(local, first, photos.size());
      System.out.printf(
          "1 model (%s): %d images indexed in %.1f s%n",
          first, local.store().count(), (System.nanoTime() - t0) / 1e9);
      report("1 model, caught up", data);
      TimeUnit.SECONDS.sleep(settle);
      report("1 model, " + settle + " s later", data);

      long r0 = System.nanoTime();
      String second = local.pipelines().register(model2.toUri().toString(), "block13").modelId();
      if (before) {
        unbound(admin, second);
      }
      awaitCaughtUp(local, second, local.store().count());
      System.out.printf(
          "2 models (+%s): replayed and indexed in %.1f s%n",
          second, (System.nanoTime() - r0) / 1e9);
      report("2 models, caught up", data);
      TimeUnit.SECONDS.sleep(settle);
      report("2 models, " + settle + " s later", data);
    }
  }

  /** Kafka's default segment bounds on the model's buffer changelog: the "before". */
  private static void unbound(Admin admin, String modelId) throws Exception {
    String topic = "lookalike-embedder-" + modelId + "-embedder-buffer-changelog";
    for (int i = 0; i < 100 && !admin.listTopics().names().get().contains(topic); i++) {
      TimeUnit.MILLISECONDS.sleep(100);
    }
    admin
        .incrementalAlterConfigs(
            Map.of(
                new ConfigResource(ConfigResource.Type.TOPIC, topic),
                List.of(
                    new AlterConfigOp(
                        new ConfigEntry(
                            TopicConfig.SEGMENT_BYTES_CONFIG, Integer.toString(1 << 30)),
                        AlterConfigOp.OpType.SET),
                    new AlterConfigOp(
                        new ConfigEntry(TopicConfig.SEGMENT_MS_CONFIG, "604800000"),
                        AlterConfigOp.OpType.SET),
                    new AlterConfigOp(
                        new ConfigEntry(TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG, "0.5"),
                        AlterConfigOp.OpType.SET))))
        .all()
        .get();
  }

  /**
   * Until the model has caught up with every photo loaded: its index holds {@code expected}
   * vectors, or (a photo the fetcher refused is a dead letter) its lag is 0 and its count has not
   * moved for a minute.
   */
  private static void awaitCaughtUp(LocalMode local, String modelId, long expected)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(60);
    long last = -1;
    long lastChange = System.nanoTime();
    while (true) {
      long count = local.pipelines().pipeline(modelId).store().count();
      if (count != last) {
        last = count;
        lastChange = System.nanoTime();
      }
      boolean caughtUp = local.pipelines().progress(modelId).caughtUp();
      if (caughtUp
          && (count >= expected || System.nanoTime() - lastChange > TimeUnit.MINUTES.toNanos(1))) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(modelId + " did not catch up in 60 minutes");
      }
      TimeUnit.SECONDS.sleep(1);
    }
  }

  /** Blocks in use per topic (its partitions summed) and per other directory of the data dir. */
  private static void report(String when, Path data) throws Exception {
    Map<String, Long> bytes = new TreeMap<>();
    Path logs = data.resolve("kafka").resolve("logs");
    try (Stream<Path> dirs = Files.list(logs)) {
      for (Path dir : dirs.filter(Files::isDirectory).toList()) {
        String name = dir.getFileName().toString();
        String topic = name.replaceFirst("-\\d+$", "");
        if (topic.startsWith("__")) {
          topic = "(kafka internal " + topic + ")";
        }
        bytes.merge("topic " + topic, du(dir), Long::sum);
      }
    }
    try (Stream<Path> dirs = Files.list(data)) {
      for (Path dir : dirs.filter(Files::isDirectory).toList()) {
        String name = dir.getFileName().toString();
        if (!name.equals("kafka")) {
          bytes.put("dir " + name, du(dir));
        }
      }
    }
    long total = du(data);
    System.out.printf("%n%s: %.1f MB in %s%n", when, total / 1e6, data);
    bytes.forEach((what, size) -> System.out.printf("  %10.1f MB  %s%n", size / 1e6, what));
  }

  private static long du(Path dir) throws IOException, InterruptedException {
    Process du = new ProcessBuilder("du", "-s", "-B1", dir.toString()).start();
    String out = new String(du.getInputStream().readAllBytes()).trim();
    du.waitFor();
    return Long.parseLong(out.split("\\s+")[0]);
  }

  private static ProductEvent event(String id, Photo p) {
    return ProductEvent.newBuilder()
        .setEventId(id + "-1")
        .setType(EventType.UPSERT)
        .setProductId(id)
        .setVersion(1)
        .setOccurredAt(Instant.now())
        .setProduct(ProductMetadata.newBuilder().setTitle(p.category()).build())
        .setImages(
            List.of(
                ImageRef.newBuilder()
                    .setImageId("main")
                    .setUrl(p.path().toUri().toString())
                    .setPosition(0)
                    .build()))
        .build();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
