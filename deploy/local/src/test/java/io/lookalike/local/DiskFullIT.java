package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Topics;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.SampleImages.Photo;
import io.lookalike.testkit.SmallDisk;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk, for real: {@code lookalike local} (a JVM of its own) on a 256 MiB tmpfs the test
 * mounts, most of it taken by a filler file the test writes, loaded with photos at the pipeline's
 * pace. Each step is checked and its time printed: {@code /health} DOWN naming the directory and
 * the error in the log once free space is below the floor; then fetching pauses by itself (the
 * fetcher brings the photo bytes in), what was fetched drains, no write fails for lack of space and
 * the JVM stays up; then the filler is deleted and, with nothing restarted, fetching resumes and
 * the run ends with every acknowledged photo indexed, lag 0 and no open transaction
 * (docs/design.md, "A full disk").
 */
class DiskFullIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Duration BOUND = Duration.ofMinutes(5);
  private static final long FLOOR = 96L * 1024 * 1024;

  @TempDir Path tmp;

  private final List<String> report = new ArrayList<>();
  private long t0;

  @Test
  void shouldPauseBelowTheFloorAndResumeByItselfWithEveryLoadedPhotoIndexedOnceSpaceIsFreed()
      throws Exception {
    Optional<SmallDisk> mounted = SmallDisk.mount(tmp.resolve("disk"), 256);
    Assumptions.assumeTrue(mounted.isPresent(), "cannot mount a tmpfs here (needs root)");
    List<Photo> photos = new ArrayList<>(SampleImages.photos("train", 100_000));
    photos.addAll(SampleImages.photos("validation", 100_000));
    int port = freePort();
    int kafkaPort = freePort();
    int controllerPort = freePort();
    String bootstrap = "localhost:" + kafkaPort;
    List<ChildJvm> children = new ArrayList<>();
    t0 = System.nanoTime();
    try (SmallDisk disk = mounted.get()) {
      Path data = disk.dir().resolve("data");
      ChildJvm local = startLocal(data, port, kafkaPort, controllerPort, "local");
      children.add(local);
      JsonNode up = awaitHealth(local, port, 200);
      record("started: /health UP, " + up.at("/checks/disk/detail").asText());

      // Given a disk with 128 MiB left (the floor is 96 MiB: what is in flight when fetching pauses
      // still lands above 0)
      Path filler = disk.fill(128);
      record("filler written: " + free(data) + " MiB free");

      // When photos are loaded at the pipeline's pace until the disk is below its floor
      Set<String> acked = new LinkedHashSet<>();
      JsonNode down = null;
      try (KafkaProducer<String, ProductEvent> producer = producer(bootstrap)) {
        int from = 0;
        for (; from < photos.size() && down == null; from += 25) {
          ChildJvm loading = local;
          await()
              .atMost(BOUND)
              .pollInterval(Duration.ofMillis(250))
              .until(
                  () -> !loading.alive() || diskDown(port) || (lag(port) >= 0 && lag(port) < 50));
          send(producer, photos.subList(from, Math.min(photos.size(), from + 25)), acked);
          assertThat(local.alive()).as(local.tail(40)).isTrue();
          JsonNode health = health(port);
          if (diskDown(health)) {
            down = health;
          }
        }
        assertThat(down).as("/health said the disk was below its floor").isNotNull();
        record(
            "/health "
                + down.at("/status").asText()
                + " after "
                + acked.size()
                + " photos: "
                + down.at("/checks/disk/detail").asText());
        assertThat(down.at("/checks/disk/detail").asText()).contains("free in " + data);

        // And 100 more events arrive while it is low
        send(producer, photos.subList(from, Math.min(photos.size(), from + 100)), acked);
      }
      // Then fetching pauses, what was fetched is embedded and indexed, and the disk does not fill
      await()
          .atMost(BOUND)
          .pollInterval(Duration.ofMillis(250))
          .until(() -> log(tmp).contains("Fetching new photos paused"));
      ChildJvm paused = local;
      await()
          .atMost(BOUND)
          .pollInterval(Duration.ofMillis(500))
          .until(() -> !paused.alive() || lag(port) == 0);
      assertThat(local.alive()).as(local.tail(40)).isTrue();
      JsonNode drained = health(port);
      assertThat(drained).as(local.tail(60)).isNotNull();
      record(
          "fetching paused, the rest drained: "
              + drained.at("/vectors").asLong()
              + " vectors, "
              + free(data)
              + " MiB free, JVM alive, /health "
              + drained.at("/status").asText());
      assertThat(free(data)).as("MiB free while paused").isGreaterThanOrEqualTo(1);
      assertThat(drained.at("/vectors").asLong()).isLessThan(acked.size());
      String log = log(tmp);
      assertThat(log).contains("Disk nearly full: only").contains("free in " + data);
      assertThat(log).as("no write failed for lack of space").doesNotContain("No space left");
      assertThat(log).doesNotContain("Shutdown broker");

      // When space is freed
      Files.delete(filler);
      long freed = System.nanoTime();
      record("filler deleted: " + free(data) + " MiB free");
      await()
          .atMost(BOUND)
          .pollInterval(Duration.ofMillis(250))
          .until(() -> log(tmp).contains("Fetching resumed"));
      record("fetching resumed by itself " + ms(freed) + " ms after the filler was deleted");

      // Then every acknowledged photo is indexed, lag 0, and no transaction is left open
      ChildJvm running = local;
      await()
          .atMost(Duration.ofMinutes(10))
          .pollInterval(Duration.ofMillis(500))
          .ignoreExceptions()
          .until(
              () -> {
                assertThat(running.alive()).as(running.tail(40)).isTrue();
                JsonNode health = health(port);
                return health.at("/status").asText().equals("UP")
                    && health.at("/vectors").asLong() >= acked.size()
                    && health.at("/checks/progress/detail").asText().endsWith("lag 0");
              });
      JsonNode done = health(port);
      record(
          "resumed: "
              + done.at("/vectors").asLong()
              + " vectors for "
              + acked.size()
              + " acknowledged photos, "
              + done.at("/checks/progress/detail").asText()
              + ", "
              + ms(freed)
              + " ms after the filler was deleted");
      assertThat(done.at("/vectors").asLong()).isEqualTo(acked.size());
      try (Admin admin =
          Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        await()
            .atMost(BOUND)
            .pollInterval(Duration.ofMillis(500))
            .until(() -> open(admin).isEmpty());
        record("no open transaction: " + admin.listTransactions().all().get().size() + " known");
      }
      ChildJvm.closeAll(children);
      children.clear();
    } finally {
      ChildJvm.closeAll(children);
      System.out.println("DiskFullIT:\n  " + String.join("\n  ", report));
    }
  }

  private static void send(
      KafkaProducer<String, ProductEvent> producer, List<Photo> part, Set<String> acked)
      throws Exception {
    List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
    for (Photo p : part) {
      sent.add(
          producer.send(
              new ProducerRecord<>(Topics.defaults().productEvents(), id(p), event(id(p), p))));
    }
    for (int i = 0; i < sent.size(); i++) {
      sent.get(i).get(30, TimeUnit.SECONDS);
      acked.add(id(part.get(i)));
    }
  }

  private static boolean diskDown(int port) {
    return diskDown(health(port));
  }

  private static boolean diskDown(JsonNode health) {
    return health != null && health.at("/checks/disk/status").asText().equals("DOWN");
  }

  /** The model's lag from /health (images to embed plus vectors to index); -1 if unreadable. */
  private static long lag(int port) {
    JsonNode health = health(port);
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("lag (\\d+)")
            .matcher(health == null ? "" : health.at("/checks/progress/detail").asText());
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  private static String log(Path tmp) throws IOException {
    return Files.readString(tmp.resolve("local.log"));
  }

  /** Transactions still open (ongoing or half-way through a commit or an abort). */
  private static List<String> open(Admin admin) throws Exception {
    Collection<TransactionListing> all = admin.listTransactions().all().get();
    List<String> open = new ArrayList<>();
    for (TransactionListing t : all) {
      if (t.state() != TransactionState.COMPLETE_COMMIT
          && t.state() != TransactionState.COMPLETE_ABORT
          && t.state() != TransactionState.EMPTY) {
        open.add(t.transactionalId() + " " + t.state());
      }
    }
    return open;
  }

  private static String noSpaceLines(String log) {
    return log.lines()
        .filter(
            l ->
                l.contains("No space left")
                    || l.contains("Disk nearly full")
                    || l.contains("Shutdown broker")
                    || l.contains("log dirs"))
        .limit(6)
        .map(l -> l.length() > 300 ? l.substring(0, 300) + "…" : l)
        .toList()
        .toString();
  }

  private ChildJvm startLocal(Path data, int port, int kafkaPort, int controllerPort, String name)
      throws IOException {
    return ChildJvm.start(
        name,
        ChildJvm.testClasspath(),
        List.of(
            "-Xmx1g",
            "-Dai.djl.offline=true",
            "-DDJL_CACHE_DIR="
                + Path.of(System.getProperty("DJL_CACHE_DIR", "target/djl-cache"))
                    .toAbsolutePath()),
        Lookalike.class.getName(),
        List.of(
            "local",
            "--data-dir=" + data,
            "--port=" + port,
            "--kafka-port=" + kafkaPort,
            "--controller-port=" + controllerPort,
            "--no-sample",
            "-Dhealth.min.free.bytes=" + FLOOR,
            "-Dmodel.input.size.px=64",
            "-Dmodel.resize.px=72"),
        tmp.resolve(name + ".log"));
  }

  private static JsonNode awaitHealth(ChildJvm child, int port, int status) {
    JsonNode[] body = new JsonNode[1];
    await()
        .atMost(BOUND)
        .pollInterval(Duration.ofMillis(500))
        .ignoreExceptions()
        .until(
            () -> {
              assertThat(child.alive()).as(child.name() + " alive: " + child.tail(40)).isTrue();
              HttpResponse<String> response = get(port);
              body[0] = JSON.readTree(response.body());
              return response.statusCode() == status;
            });
    return body[0];
  }

  private static JsonNode health(int port) {
    try {
      return JSON.readTree(get(port).body());
    } catch (Exception e) {
      return null;
    }
  }

  private static HttpResponse<String> get(int port) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static long free(Path data) throws IOException {
    return Files.getFileStore(data).getUsableSpace() / (1024 * 1024);
  }

  private void record(String line) {
    String stamped = String.format("%6.1f s  %s", (System.nanoTime() - t0) / 1e9, line);
    report.add(stamped);
    System.out.println("DiskFullIT " + stamped);
  }

  private static long ms(long since) {
    return (System.nanoTime() - since) / 1_000_000;
  }

  private static String id(Photo p) {
    return "p-" + p.id();
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

  private static KafkaProducer<String, ProductEvent> producer(String bootstrap) {
    Map<String, Object> config = new java.util.HashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20_000);
    config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20_000);
    return new KafkaProducer<>(
        config, new StringSerializer(), io.lookalike.schemas.Serdes.productEvent().serializer());
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
