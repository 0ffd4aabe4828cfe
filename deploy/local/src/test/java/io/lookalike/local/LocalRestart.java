package io.lookalike.local;

import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.testkit.SampleImages;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code lookalike local} in a child JVM on a data directory and fixed ports, so that it can be
 * killed -9 and started again on the same directory; what RestartIT asserts and RestartBench times:
 * the consumer groups, the open transactions and a product's way to the index.
 */
final class LocalRestart implements AutoCloseable {

  private final Path tmp;
  private final Path data;
  private final int kafkaPort;
  private final int controllerPort;
  private final int gatewayPort;
  private final List<String> settings;
  private final List<SampleImages.Photo> photos;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private ChildJvm child;
  private int starts;
  private KafkaProducer<String, ProductEvent> producer;
  private Admin admin;

  /**
   * @param settings {@code -Dkey=value} arguments of the local mode, e.g. {@code
   *     -Dgroup.instance.id=} to turn static membership off
   * @param distinctPhotos the products share this many photos (one inference each)
   */
  LocalRestart(Path tmp, List<String> settings, int distinctPhotos) throws IOException {
    this.tmp = tmp;
    this.data = tmp.resolve("data");
    this.kafkaPort = freePort();
    this.controllerPort = freePort();
    this.gatewayPort = freePort();
    this.settings = List.copyOf(settings);
    this.photos = SampleImages.photos("test", distinctPhotos);
  }

  /** Starts the local mode (again, on the same data directory and ports). */
  void start() throws IOException {
    List<String> args =
        new ArrayList<>(
            List.of(
                "local",
                "--data-dir=" + data,
                "--kafka-port=" + kafkaPort,
                "--controller-port=" + controllerPort,
                "--port=" + gatewayPort,
                "--no-sample"));
    args.addAll(settings);
    starts++;
    child =
        ChildJvm.start(
            "local",
            ChildJvm.testClasspath(),
            List.of(
                "-Xmx1g",
                "-Dai.djl.offline=true",
                "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR", "target/djl-cache")),
            Lookalike.class.getName(),
            args,
            tmp.resolve("local.log"));
  }

  /** kill -9 of the local mode; the producer and admin client stay, for the restart. */
  void kill() throws InterruptedException {
    child.kill();
  }

  boolean alive() {
    return child != null && child.alive();
  }

  String tail() {
    return child == null ? "(not started)" : child.tail(60);
  }

  String bootstrapServers() {
    return "127.0.0.1:" + kafkaPort;
  }

  Admin admin() {
    if (admin == null) {
      admin =
          Admin.create(
              Map.of(
                  AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                  bootstrapServers(),
                  AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                  10_000,
                  AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                  5_000));
    }
    return admin;
  }

  /** True once the broker answers. */
  boolean brokerUp() {
    try {
      admin().describeCluster().nodes().get(5, TimeUnit.SECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /** The HTTP status of {@code GET /health}, or -1 while the gateway does not answer. */
  int health() {
    try {
      return http.send(
              HttpRequest.newBuilder(gateway("/health")).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** Publishes product {@code productId} (version 1, one of the shared photos). */
  void publish(String productId, int photo) throws Exception {
    if (producer == null) {
      producer = LocalMode.eventProducer(bootstrapServers());
    }
    SampleImages.Photo p = photos.get(Math.floorMod(photo, photos.size()));
    ProductEvent event =
        ProductEvent.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setType(EventType.UPSERT)
            .setProductId(productId)
            .setVersion(1)
            .setOccurredAt(Instant.now())
            .setProduct(
                ProductMetadata.newBuilder()
                    .setTitle("Product " + productId)
                    .setBrand("Acme")
                    .setCategory(p.category())
                    .build())
            .setImages(
                List.of(
                    ImageRef.newBuilder()
                        .setImageId("main")
                        .setUrl(p.path().toUri().toString())
                        .setPosition(0)
                        .build()))
            .build();
    producer.send(new ProducerRecord<>("catalog.product-events", productId, event));
  }

  void flush() {
    producer.flush();
  }

  /** True when a search by {@code productId} finds it in the index (200). */
  boolean searchable(String productId) {
    try {
      return http.send(
                  HttpRequest.newBuilder(gateway("/v1/search"))
                      .timeout(Duration.ofSeconds(10))
                      .header("Content-Type", "application/json")
                      .POST(
                          HttpRequest.BodyPublishers.ofString(
                              "{\"productId\": \"" + productId + "\", \"k\": 1}"))
                      .build(),
                  HttpResponse.BodyHandlers.discarding())
              .statusCode()
          == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** The pipeline's consumer groups: the fetcher's, each embedder's and each indexer's. */
  Map<String, ConsumerGroupDescription> groups() throws Exception {
    List<String> ids =
        admin().listGroups().all().get(10, TimeUnit.SECONDS).stream()
            .map(GroupListing::groupId)
            .filter(id -> id.startsWith("lookalike-"))
            .sorted()
            .toList();
    return new java.util.TreeMap<>(
        admin().describeConsumerGroups(ids).all().get(10, TimeUnit.SECONDS));
  }

  /**
   * True when the fetcher's, the embedder's and the indexer's groups are each stable with exactly
   * one member (the live instance: the local mode runs one stream thread per app and one indexer
   * consumer) that holds every partition of its topics.
   */
  boolean groupsTakenOver(int partitions) {
    try {
      Map<String, ConsumerGroupDescription> groups = groups();
      if (groups.keySet().stream().filter(g -> g.startsWith("lookalike-fetcher")).count() != 1
          || groups.keySet().stream().filter(g -> g.startsWith("lookalike-embedder-")).count() != 1
          || groups.keySet().stream().filter(g -> g.startsWith("lookalike-indexer-")).count()
              != 1) {
        return false;
      }
      for (ConsumerGroupDescription group : groups.values()) {
        if (group.groupState() != GroupState.STABLE || group.members().size() != 1) {
          return false;
        }
        MemberDescription member = group.members().iterator().next();
        if (member.assignment().topicPartitions().size() < partitions) {
          return false;
        }
      }
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /**
   * Transactions still open that began before {@code since} (so by an instance killed since): they
   * hold back every read_committed reader of their partitions until aborted.
   */
  List<TransactionDescription> openTransactionsBegunBefore(Instant since) throws Exception {
    List<String> ids =
        admin().listTransactions().all().get(10, TimeUnit.SECONDS).stream()
            .filter(t -> t.state() == TransactionState.ONGOING)
            .map(TransactionListing::transactionalId)
            .toList();
    if (ids.isEmpty()) {
      return List.of();
    }
    List<TransactionDescription> open = new ArrayList<>();
    for (TransactionDescription d :
        admin().describeTransactions(ids).all().get(10, TimeUnit.SECONDS).values()) {
      if (d.state() == TransactionState.ONGOING
          && d.transactionStartTimeMs().isPresent()
          && d.transactionStartTimeMs().getAsLong() < since.toEpochMilli()) {
        open.add(d);
      }
    }
    return open;
  }

  /**
   * Records not yet consumed by the pipeline's groups (committed offsets against the read_committed
   * end of each partition they commit), -1 when it cannot be told.
   */
  long lag() {
    try {
      long lag = 0;
      for (String group : groups().keySet()) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin()
                .listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata()
                .get(10, TimeUnit.SECONDS);
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        committed.keySet().forEach(tp -> latest.put(tp, OffsetSpec.latest()));
        var ends =
            admin()
                .listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                .all()
                .get(10, TimeUnit.SECONDS);
        for (var e : committed.entrySet()) {
          long end = ends.get(e.getKey()).offset();
          // a committed offset sits past the commit marker: the end of a committed transaction
          lag += Math.max(0, end - e.getValue().offset());
        }
      }
      return lag;
    } catch (Exception e) {
      return -1;
    }
  }

  /**
   * Milliseconds since {@code t0} (nanoTime) once {@code condition} holds; -1 after {@code max}.
   */
  static long await(long t0, Duration max, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return (System.nanoTime() - t0) / 1_000_000;
      }
      Thread.sleep(200);
    }
    return -1;
  }

  int starts() {
    return starts;
  }

  private URI gateway(String path) {
    return URI.create("http://127.0.0.1:" + gatewayPort + path);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Override
  public void close() throws Exception {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
    }
    if (admin != null) {
      admin.close(Duration.ofSeconds(5));
    }
    if (child != null) {
      child.close();
    }
  }
}
