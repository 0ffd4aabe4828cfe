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
 * mounts, most of it taken by a filler file the test writes, loaded with photos until the disk is
 * full. Each step is checked and its time printed: {@code /health} DOWN naming the directory, the
 * error in the log; then the filler is deleted and the pipeline must end with every acknowledged
 * photo indexed, lag 0 and no open transaction. When the broker halted the JVM on its failed log
 * directory (Kafka does, with one log directory), a start with the disk still full is refused
 * naming the directory, and the test starts it again once space is freed: what a user must do too
 * (docs/design.md, "A full disk").
 */
class DiskFullIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Duration BOUND = Duration.ofMinutes(5);
  private static final long FLOOR = 32L * 1024 * 1024;

  @TempDir Path tmp;

  private final List<String> report = new ArrayList<>();
  private long t0;

  @Test
  void shouldSayTheDiskIsFullAndEndWithEveryLoadedPhotoIndexedOnceSpaceIsFreed() throws Exception {
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

      // Given a disk with about 60 MiB left (the floor is 32 MiB)
      Path filler = disk.fill(48);
      record("filler written: " + free(data) + " MiB free");

      // When photos are loaded until the disk is full
      Set<String> acked = new LinkedHashSet<>();
      boolean diskDown = false;
      boolean failed = false;
      try (KafkaProducer<String, ProductEvent> producer = producer(bootstrap)) {
        for (int from = 0; from < photos.size() && !failed; from += 25) {
          List<Photo> part = photos.subList(from, Math.min(photos.size(), from + 25));
          // At the pipeline's pace (at most ~200 behind), so that the disk fills while it works
          ChildJvm loading = local;
          await()
              .atMost(BOUND)
              .pollInterval(Duration.ofMillis(250))
              .until(() -> !loading.alive() || lag(port) < 200);
          try {
            List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
            for (Photo p : part) {
              sent.add(
                  producer.send(
                      new ProducerRecord<>(
                          Topics.defaults().productEvents(), id(p), event(id(p), p))));
            }
            for (int i = 0; i < sent.size(); i++) {
              sent.get(i).get(30, TimeUnit.SECONDS);
              acked.add(id(part.get(i)));
            }
          } catch (Exception e) {
            failed = true;
            record("a send failed after " + acked.size() + " photos acknowledged: " + e);
          }
          if (!local.alive()) {
            failed = true;
            record("the local mode's JVM is gone after " + acked.size() + " photos acknowledged");
            break;
          }
          JsonNode health = health(port);
          if (!diskDown
              && health != null
              && health.at("/checks/disk/status").asText().equals("DOWN")) {
            diskDown = true;
            record(
                "/health "
                    + health.at("/status").asText()
                    + " after "
                    + acked.size()
                    + " photos: "
                    + health.at("/checks/disk/detail").asText());
            assertThat(health.at("/checks/disk/detail").asText()).contains("free in " + data);
          }
          if (free(data) < 1) {
            failed = true;
            record("disk full (" + free(data) + " MiB free) after " + acked.size() + " photos");
            awaitGone(local);
          }
        }
      }
      if (!failed) {
        // Every photo sent: the fetcher, the embedder and the index are still writing
        record(
            acked.size()
                + " photos acknowledged, "
                + free(data)
                + " MiB free; waiting for the pipeline");
        ChildJvm filling = local;
        await()
            .atMost(BOUND)
            .pollInterval(Duration.ofMillis(500))
            .until(() -> free(data) < 1 || !filling.alive());
        failed = true;
        record(
            "disk full ("
                + free(data)
                + " MiB free) or the JVM gone (alive: "
                + local.alive()
                + ")");
        awaitGone(local);
      }
      if (!diskDown) {
        JsonNode health = health(port);
        diskDown = health != null && health.at("/checks/disk/status").asText().equals("DOWN");
      }
      assertThat(diskDown || log(tmp).contains("Disk nearly full: only"))
          .as("/health said the disk was below its floor")
          .isTrue();
      assertThat(failed).as("the disk filled up").isTrue();
      String log = log(tmp);
      assertThat(log).contains("Disk nearly full: only").contains("free in " + data);
      record("log lines: " + noSpaceLines(log));

      if (!local.alive()) {
        // Then a start with the disk still full is refused, naming the directory
        ChildJvm refused = startLocal(data, port, kafkaPort, controllerPort, "refused");
        children.add(refused);
        await().atMost(BOUND).until(() -> !refused.alive());
        String refusal = Files.readString(tmp.resolve("refused.log"));
        assertThat(refusal)
            .contains("Not starting: only")
            .contains("free in " + data.toAbsolutePath());
        record("restart with the disk full: refused, naming " + data.toAbsolutePath());
      }

      // When space is freed
      Files.delete(filler);
      long freed = System.nanoTime();
      record("filler deleted: " + free(data) + " MiB free");
      if (!local.alive()) {
        local = startLocal(data, port, kafkaPort, controllerPort, "restarted");
        children.add(local);
        record("the local mode started again (the broker had halted its JVM)");
        ChildJvm again = local;
        await()
            .atMost(BOUND)
            .pollInterval(Duration.ofMillis(250))
            .until(() -> !again.alive() || health(port) != null);
        JsonNode first = health(port);
        record(
            "/health answers again, "
                + ms(freed)
                + " ms after the filler was deleted: "
                + (first == null ? "(none)" : first.at("/status").asText())
                + ", "
                + (first == null ? "" : first.at("/vectors").asLong() + " vectors"));
      }

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

  /** The model's lag from /health (images to embed plus vectors to index); 0 if unreadable. */
  private static long lag(int port) {
    JsonNode health = health(port);
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("lag (\\d+)")
            .matcher(health == null ? "" : health.at("/checks/progress/detail").asText());
    return m.find() ? Long.parseLong(m.group(1)) : 0;
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

  /** Waits up to a minute for the JVM to go (Kafka halts on a failed log dir); says which. */
  private void awaitGone(ChildJvm local) {
    try {
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(500))
          .until(() -> !local.alive());
      record("the local mode's JVM is gone (the broker halted it)");
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      record("the local mode's JVM is still alive 60 s after the disk filled");
    }
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
