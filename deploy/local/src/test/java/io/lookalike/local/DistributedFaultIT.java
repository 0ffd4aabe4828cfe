package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.ingest.FetcherApp;
import io.lookalike.ingest.FetcherConfig;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.ModelInfo;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.TopicAdmin;
import io.lookalike.schemas.Topics;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusProtocolDouble;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distributed mode under faults, on real parts: 3 in-process brokers (replication 3, {@code
 * min.insync.replicas} 2), 2 fetchers (in this JVM), 2 embedders ({@code lookalike embedder}, each
 * a JVM of its own, the real model) and a Connect cluster of 2 {@code ConnectDistributed} workers
 * (JVMs of their own, the built sink plugin through plugin.path) writing into Milvus's protocol
 * (the in-JVM double: in Connect the sink's store is Milvus, Lucene is refused there). 2,000
 * product events (new products, metadata updates, replaced, added and dropped photos, photos that
 * cannot be fetched, deletes, re-listings and late stale versions) arrive in three parts; during
 * each, one broker is stopped, one embedder is killed -9, one worker is killed -9, and each is
 * brought back. Drained, the store holds exactly one vector per live image, of its newest version.
 * The time each kill takes to recover from is printed, never asserted.
 */
class DistributedFaultIT {

  private static final int EVENTS = 2_000;

  /**
   * Few products and few photo changes among the 2,000 events: most are metadata updates (the
   * stored vector is reused, no inference), so the model work stays at a few hundred small images.
   */
  private static final int PRODUCTS = 50;

  private static final int PHOTOS = 100;
  private static final int PARTITIONS = 4;
  private static final String CONNECTOR = "lookalike-sink";
  private static final String PRODUCT_EVENTS = Topics.defaults().productEvents();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Duration BOUND = Duration.ofMinutes(5);

  @TempDir Path tmp;

  private final List<SampleImages.Photo> photos = SampleImages.photos("train", PHOTOS);
  private final List<String> shas =
      photos.stream().map(p -> ImageNormaliser.sha256(p.bytes())).toList();
  private final List<String> report = new ArrayList<>();
  private String photoBase;

  @Test
  void shouldEndWithOneVectorPerLiveImageOfItsNewestVersionAfterABrokerAnEmbedderAndAWorkerDie()
      throws Exception {
    long t0 = System.nanoTime();
    HttpServer server = photoServer();
    Path plugins = Files.createDirectories(tmp.resolve("plugins"));
    Set<String> bundled = unzip(pluginZip(), plugins);
    String modelId = bundledModelId();
    Topics topics = Topics.defaults();
    String collection = "lookalike_" + modelId;
    Catalog catalog = new Catalog(new Random(12));
    List<ChildJvm> children = new ArrayList<>();
    List<FetcherApp> fetchers = new ArrayList<>();
    boolean passed = false;
    try (KafkaBroker kafka = KafkaBroker.startCluster(3);
        MilvusProtocolDouble milvus = new MilvusProtocolDouble();
        KafkaProducer<String, ProductEvent> producer = producer(kafka)) {
      try {
        try (Admin admin = kafka.admin()) {
          TopicAdmin.ensureTopics(admin, topics, PARTITIONS, (short) 3, modelId);
        }
        // Given 2 fetchers, 2 embedders and a Connect cluster of 2 workers running the sink
        for (int i = 0; i < 2; i++) {
          FetcherApp fetcher = new FetcherApp(fetcherConfig(kafka, i), new SimpleMeterRegistry());
          fetchers.add(fetcher);
          fetcher.start();
        }
        int[] embedderPorts = {freePort(), freePort()};
        ChildJvm[] embedders = new ChildJvm[2];
        for (int i = 0; i < 2; i++) {
          embedders[i] = startEmbedder(kafka, i, embedderPorts[i]);
          children.add(embedders[i]);
        }
        int[] workerPorts = {freePort(), freePort()};
        ChildJvm[] workers = new ChildJvm[2];
        for (int i = 0; i < 2; i++) {
          workers[i] = startWorker(kafka, plugins, bundled, i, workerPorts[i]);
          children.add(workers[i]);
        }
        String rest = "http://127.0.0.1:" + workerPorts[0];
        await()
            .atMost(BOUND)
            .ignoreExceptions()
            .until(() -> get(rest + "/connector-plugins").isArray());
        put(rest + "/connectors/" + CONNECTOR + "/config", sinkConfig(plugins, milvus, kafka));
        awaitSinkRunning(rest);
        for (int i = 0; i < 2; i++) {
          awaitHealthy(embedders[i], embedderPorts[i]);
        }
        await()
            .atMost(BOUND)
            .until(
                () ->
                    fetchers.stream()
                        .allMatch(f -> f.streams().state() == KafkaStreams.State.RUNNING));
        step("all up", t0);

        int third = EVENTS / 3;

        // When, in the first part, a broker goes away and comes back
        int broker = new ArrayList<>(kafka.brokerIds()).get(1);
        long progress = embeddingsEnd(kafka, topics.embeddings(modelId));
        send(producer, catalog.next(third));
        awaitProgress(kafka, topics.embeddings(modelId), progress);
        int backlog = outstanding(catalog, milvus, collection);
        long kill = System.nanoTime();
        kafka.stopBroker(broker);
        await()
            .atMost(BOUND)
            .pollInterval(Duration.ofMillis(100))
            .until(() -> ledAndInSync(kafka, broker));
        record(
            "broker "
                + broker
                + " stopped: every partition led by another broker, ISR >= 2, "
                + ms(kill)
                + " ms later");
        measureRecovery(
            "broker " + broker + " stopped", catalog, producer, milvus, collection, kill, backlog);
        long back = System.nanoTime();
        kafka.startBroker(broker);
        await()
            .atMost(BOUND)
            .pollInterval(Duration.ofMillis(250))
            .until(() -> fullyReplicated(kafka));
        record(
            "broker "
                + broker
                + " back: every partition in sync "
                + ms(back)
                + " ms after its restart");
        awaitDrained(catalog, milvus, collection, "part 1");

        // When, in the second part, an embedder is killed -9 and started again on its state
        // directory
        progress = embeddingsEnd(kafka, topics.embeddings(modelId));
        send(producer, catalog.next(third));
        awaitProgress(kafka, topics.embeddings(modelId), progress);
        Set<Integer> owned = streamsPartitions(embedderPorts[0]);
        String embeddings = topics.embeddings(modelId);
        Map<Integer, Long> stable = stableEnds(kafka, embeddings);
        backlog = outstanding(catalog, milvus, collection);
        kill = System.nanoTime();
        embedders[0].kill();
        String embedderGroup = "lookalike-embedder-" + modelId;
        await()
            .atMost(BOUND)
            .pollInterval(Duration.ofMillis(100))
            .until(
                () ->
                    resumed(
                        kafka,
                        owned,
                        stable,
                        stableEnds(kafka, embeddings),
                        embedderGroup,
                        topics));
        record(
            "embedder 0 killed -9: its partitions "
                + owned
                + " committed embeddings again (the other instance took them over) "
                + ms(kill)
                + " ms later");
        measureRecovery(
            "embedder 0 killed -9", catalog, producer, milvus, collection, kill, backlog);
        back = System.nanoTime();
        embedders[0] = startEmbedder(kafka, 0, embedderPorts[0]);
        children.add(embedders[0]);
        awaitHealthy(embedders[0], embedderPorts[0]);
        record("embedder 0 back: /health UP " + ms(back) + " ms after its restart");
        awaitDrained(catalog, milvus, collection, "part 2");

        // When, in the third part, a Connect worker is killed -9 and started again
        progress = embeddingsEnd(kafka, topics.embeddings(modelId));
        send(producer, catalog.next(EVENTS - 2 * third));
        awaitProgress(kafka, topics.embeddings(modelId), progress);
        // the worker that runs sink task 0 (and so holds partitions), asked through the other one
        int victim = workerOf(rest, 0, workerPorts);
        String survivor = "http://127.0.0.1:" + workerPorts[1 - victim];
        Set<Integer> sinkOwned = sinkPartitions(survivor, kafka, workerPorts[victim], embeddings);
        Map<Integer, Long> sinkCommitted = committed(kafka, "connect-" + CONNECTOR, embeddings);
        backlog = outstanding(catalog, milvus, collection);
        kill = System.nanoTime();
        workers[victim].kill();
        await()
            .atMost(BOUND)
            .pollInterval(Duration.ofMillis(100))
            .until(
                () -> {
                  Map<Integer, Long> now = committed(kafka, "connect-" + CONNECTOR, embeddings);
                  Map<Integer, Long> ends = stableEnds(kafka, embeddings);
                  return sinkOwned.stream()
                      .allMatch(
                          n ->
                              now.getOrDefault(n, 0L) > sinkCommitted.getOrDefault(n, 0L)
                                  || now.getOrDefault(n, 0L) >= ends.get(n));
                });
        record(
            "worker "
                + victim
                + " killed -9: the sink committed on its task's partitions "
                + sinkOwned
                + " again (the task reassigned) "
                + ms(kill)
                + " ms later");
        measureRecovery(
            "worker " + victim + " killed -9",
            catalog,
            producer,
            milvus,
            collection,
            kill,
            backlog);
        back = System.nanoTime();
        workers[victim] = startWorker(kafka, plugins, bundled, victim, workerPorts[victim]);
        children.add(workers[victim]);
        String restarted = "http://127.0.0.1:" + workerPorts[victim];
        await()
            .atMost(BOUND)
            .ignoreExceptions()
            .until(() -> get(restarted + "/connectors").isArray());
        awaitSinkRunning(survivor);
        record(
            "worker "
                + victim
                + " back: REST up, both sink tasks RUNNING "
                + ms(back)
                + " ms after its restart");

        // Then, drained: exactly one vector per live image, of its newest version
        awaitDrained(catalog, milvus, collection, "all");
        Map<String, Map<String, Object>> rows = snapshot(milvus, collection);
        Map<String, Catalog.Row> expected = catalog.expected();
        assertThat(rows.keySet()).isEqualTo(expected.keySet());
        for (Map.Entry<String, Catalog.Row> entry : expected.entrySet()) {
          Map<String, Object> row = rows.get(entry.getKey());
          Catalog.Row want = entry.getValue();
          assertThat(((Number) row.get("version")).longValue())
              .as("version of %s", entry.getKey())
              .isEqualTo(want.version());
          assertThat(row.get("sha256")).as("photo of %s", entry.getKey()).isEqualTo(want.sha());
          assertThat(row.get("title")).as("title of %s", entry.getKey()).isEqualTo(want.title());
        }
        // nothing deleted present, nothing stale
        assertThat(rows.keySet()).noneMatch(key -> catalog.deleted().contains(productOf(key)));
        assertThat(catalog.staleEvents()).isPositive();
        assertThat(catalog.deletes()).isPositive();
        assertThat(catalog.droppedImages()).isPositive();
        // and the vector is that of its photo: the same photo gives the same vector on every key
        Map<String, float[]> bySha = new HashMap<>();
        for (Map<String, Object> row : rows.values()) {
          float[] vector = (float[]) row.get("vector");
          float[] first = bySha.putIfAbsent((String) row.get("sha256"), vector);
          if (first != null) {
            assertThat(cosine(first, vector)).isGreaterThan(0.999);
          }
        }
        // and nothing twice: no image version was embedded into the committed topic more than once
        Map<String, Integer> embedded = committedEmbeddings(kafka, topics.embeddings(modelId));
        assertThat(embedded).allSatisfy((version, times) -> assertThat(times).as(version).isOne());
        step("drained and checked", t0);
        passed = true;
      } finally {
        // while the brokers are still up, so that each stops cleanly and quickly
        if (!passed) {
          children.forEach(c -> System.out.println("---- " + c.name() + ":\n" + c.tail(60)));
        }
        ChildJvm.closeAll(children);
        fetchers.forEach(FetcherApp::close);
      }
    } finally {
      server.stop(0);
      System.out.println("DistributedFaultIT:\n  " + String.join("\n  ", report));
    }
  }

  /**
   * Publishes one new product at the moment of a kill and prints how long it took to become
   * searchable: the time the pipeline took to recover from the kill, with its backlog.
   */
  private void measureRecovery(
      String what,
      Catalog catalog,
      KafkaProducer<String, ProductEvent> producer,
      MilvusProtocolDouble milvus,
      String collection,
      long kill,
      int backlog) {
    ProductEvent probe = catalog.probe();
    producer.send(new ProducerRecord<>(PRODUCT_EVENTS, probe.getProductId(), probe));
    producer.flush();
    String key = probe.getProductId() + "/0";
    await()
        .atMost(BOUND)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> snapshot(milvus, collection).containsKey(key));
    record(
        what
            + ": a product published at the kill was searchable "
            + ms(kill)
            + " ms later, behind "
            + backlog
            + " changes still to index at the kill");
  }

  private void awaitDrained(
      Catalog catalog, MilvusProtocolDouble milvus, String collection, String part) {
    long start = System.nanoTime();
    await()
        .atMost(BOUND)
        .pollInterval(Duration.ofMillis(250))
        .untilAsserted(() -> assertThat(diff(catalog.expected(), milvus, collection)).isEmpty());
    record(
        part
            + " drained (the store equals the catalog) "
            + ms(start)
            + " ms after the check began");
  }

  /** What differs between the store and the catalog's expected rows, at most 10 lines. */
  private static List<String> diff(
      Map<String, Catalog.Row> expected, MilvusProtocolDouble milvus, String collection) {
    Map<String, Map<String, Object>> rows = snapshot(milvus, collection);
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, Catalog.Row> entry : expected.entrySet()) {
      Map<String, Object> row = rows.get(entry.getKey());
      if (row == null) {
        problems.add("missing " + entry.getKey() + " v" + entry.getValue().version());
      } else if (((Number) row.get("version")).longValue() != entry.getValue().version()
          || !entry.getValue().sha().equals(row.get("sha256"))) {
        problems.add(
            entry.getKey() + " at v" + row.get("version") + ", wanted v" + entry.getValue());
      }
    }
    rows.keySet().stream()
        .filter(key -> !expected.containsKey(key))
        .forEach(key -> problems.add("extra " + key + " v" + rows.get(key).get("version")));
    return problems.size() <= 10
        ? problems
        : List.of(problems.size() + " differences, e.g. " + problems.subList(0, 10));
  }

  private static Map<String, Map<String, Object>> snapshot(
      MilvusProtocolDouble milvus, String collection) {
    synchronized (milvus) { // the double answers one call at a time, holding itself
      MilvusProtocolDouble.Collection c = milvus.collection(collection);
      return c == null ? Map.of() : new HashMap<>(c.rows);
    }
  }

  // ---- the catalog: events and what the index must hold after them

  /**
   * A seeded catalog of {@link #PRODUCTS} products and the rows the fetcher's rules leave in the
   * index: an image is (re)published, with the event's version, when its URL, photo, position or
   * the product's metadata changed; a delete or a dropped image removes it; an image that cannot be
   * fetched is dead-lettered and removed; an event not newer than the last applied is dropped.
   */
  final class Catalog {
    record Row(long version, String sha, String title) {}

    private final Random random;
    private final Map<String, Product> products = new TreeMap<>();
    private int stale;
    private int deletes;
    private int dropped;
    private int probes;
    private boolean listed;
    private long clock = Instant.parse("2026-12-01T00:00:00Z").toEpochMilli();

    private final class Product {
      final String id;
      long version;
      boolean deleted = true; // not listed yet
      String title;
      Map<String, Integer> images = new TreeMap<>(); // imageId -> photo (-1: cannot be fetched)
      Map<String, Row> rows = new TreeMap<>();

      Product(String id) {
        this.id = id;
      }
    }

    Catalog(Random random) {
      this.random = random;
      for (int i = 0; i < PRODUCTS; i++) {
        String id = "p%03d".formatted(i);
        products.put(id, new Product(id));
      }
    }

    /** The next {@code count} events; the first call lists every product first. */
    List<ProductEvent> next(int count) {
      List<ProductEvent> out = new ArrayList<>(count);
      List<Product> all =
          products.values().stream().filter(p -> !p.id.startsWith("probe-")).toList();
      if (!listed) {
        listed = true;
        for (Product p : all) {
          out.add(upsert(p, p.version + 1, "first", freshImages()));
        }
      }
      while (out.size() < count) {
        Product p = all.get(random.nextInt(all.size()));
        int dice = random.nextInt(100);
        if (dice < 12 && p.version > 1) {
          // late, older version with other photos: changes nothing (a deleted product stays so)
          stale++;
          out.add(
              event(p, p.version - 1 - random.nextInt((int) Math.min(2, p.version - 1)), "stale"));
        } else if (p.deleted) {
          out.add(upsert(p, p.version + 1, "relisted", freshImages()));
        } else if (dice < 16) {
          deletes++;
          out.add(delete(p, p.version + 1));
        } else if (dice < 22) {
          Map<String, Integer> images = new TreeMap<>(p.images);
          String imageId = images.keySet().iterator().next();
          images.put(imageId, photo());
          out.add(upsert(p, p.version + 1, p.title, images));
        } else if (dice < 30 && p.images.size() > 1) {
          dropped++;
          Map<String, Integer> images = new TreeMap<>(p.images);
          images.remove(images.keySet().stream().skip(1).findFirst().orElseThrow());
          out.add(upsert(p, p.version + 1, p.title, images));
        } else if (dice < 34 && p.images.size() < 3) {
          Map<String, Integer> images = new TreeMap<>(p.images);
          images.put(Integer.toString(images.size() + random.nextInt(2)), photo());
          out.add(upsert(p, p.version + 1, p.title, images));
        } else {
          out.add(upsert(p, p.version + 1, "title " + random.nextInt(1000), p.images));
        }
      }
      return out;
    }

    /** A new product with one photo, for measuring a recovery. */
    ProductEvent probe() {
      Product p = new Product("probe-" + probes++);
      products.put(p.id, p);
      return upsert(p, 1, "probe", Map.of("0", probes % PHOTOS));
    }

    private Map<String, Integer> freshImages() {
      Map<String, Integer> images = new TreeMap<>();
      int count = 1 + random.nextInt(2);
      for (int i = 0; i < count; i++) {
        images.put(Integer.toString(i), photo());
      }
      return images;
    }

    /** A photo; one in 40 cannot be fetched (404). */
    private int photo() {
      return random.nextInt(40) == 0 ? -1 : random.nextInt(PHOTOS);
    }

    private ProductEvent upsert(
        Product p, long version, String title, Map<String, Integer> images) {
      String before = p.title;
      p.version = version;
      p.title = title;
      boolean metadataChanged = p.deleted || !title.equals(before);
      Map<String, Row> rows = new TreeMap<>();
      for (Map.Entry<String, Integer> image : images.entrySet()) {
        if (image.getValue() < 0) {
          continue; // dead-lettered, and removed if it was there
        }
        Row previous = p.rows.get(image.getKey());
        Integer was = p.images.get(image.getKey());
        boolean unchanged =
            previous != null && !metadataChanged && image.getValue().equals(was) && !p.deleted;
        rows.put(
            image.getKey(),
            unchanged ? previous : new Row(version, shas.get(image.getValue()), title));
      }
      p.deleted = false;
      p.images = new TreeMap<>(images);
      p.rows = rows;
      return build(p.id, EventType.UPSERT, version, title, images);
    }

    private ProductEvent delete(Product p, long version) {
      p.version = version;
      p.deleted = true;
      p.images = new TreeMap<>();
      p.rows = new TreeMap<>();
      return build(p.id, EventType.DELETE, version, null, Map.of());
    }

    /** An event the fetcher must drop: its version is below the last applied. */
    private ProductEvent event(Product p, long version, String title) {
      return build(p.id, EventType.UPSERT, version, title, Map.of("0", photo(), "9", photo()));
    }

    private ProductEvent build(
        String id, EventType type, long version, String title, Map<String, Integer> images) {
      List<ImageRef> refs = new ArrayList<>();
      images.forEach(
          (imageId, photo) ->
              refs.add(
                  ImageRef.newBuilder()
                      .setImageId(imageId)
                      .setUrl(photoBase + (photo < 0 ? "missing-" + imageId : photo) + ".jpg")
                      .setPosition(Integer.parseInt(imageId))
                      .build()));
      clock += 1;
      return ProductEvent.newBuilder()
          .setEventId(id + "-" + version + "-" + clock)
          .setType(type)
          .setProductId(id)
          .setVersion(version)
          .setOccurredAt(Instant.ofEpochMilli(clock))
          .setProduct(title == null ? null : ProductMetadata.newBuilder().setTitle(title).build())
          .setImages(refs)
          .build();
    }

    /** productId/imageId -> the row the index must hold. */
    Map<String, Row> expected() {
      Map<String, Row> out = new TreeMap<>();
      products
          .values()
          .forEach(p -> p.rows.forEach((imageId, row) -> out.put(p.id + "/" + imageId, row)));
      return out;
    }

    Set<String> deleted() {
      Set<String> out = new TreeSet<>();
      products.values().stream().filter(p -> p.deleted).forEach(p -> out.add(p.id));
      return out;
    }

    int staleEvents() {
      return stale;
    }

    int deletes() {
      return deletes;
    }

    int droppedImages() {
      return dropped;
    }
  }

  // ---- the parts

  private HttpServer photoServer() throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    server.createContext(
        "/photos/",
        exchange -> {
          String name = exchange.getRequestURI().getPath().substring("/photos/".length());
          byte[] body;
          int status = 200;
          if (name.startsWith("missing")) {
            status = 404;
            body = "not here".getBytes();
          } else {
            body = photos.get(Integer.parseInt(name.replace(".jpg", ""))).bytes();
          }
          exchange.sendResponseHeaders(status, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
    server.start();
    photoBase = "http://127.0.0.1:" + server.getAddress().getPort() + "/photos/";
    return server;
  }

  private Map<String, Object> fetcherConfig(KafkaBroker kafka, int instance) throws IOException {
    Map<String, Object> config = new HashMap<>();
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    config.put(
        StreamsConfig.STATE_DIR_CONFIG,
        Files.createDirectories(tmp.resolve("fetcher-" + instance)).toString());
    config.put(FetcherConfig.FETCH_ALLOWED_HOSTS_CONFIG, "127.0.0.1");
    config.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 3);
    config.put("session.timeout.ms", 10_000);
    config.put("heartbeat.interval.ms", 2_000);
    return config;
  }

  /**
   * {@code lookalike embedder}: the bundled model at 64 px (a twelfth of the work of 224 px on a
   * busy CPU), consumer session and transaction timeouts of 10 s so that a killed instance's
   * partitions and open transaction are given up within the test.
   */
  private ChildJvm startEmbedder(KafkaBroker kafka, int instance, int port) throws IOException {
    Path state = Files.createDirectories(tmp.resolve("embedder-" + instance));
    return ChildJvm.start(
        "embedder-" + instance,
        ChildJvm.testClasspath(),
        List.of(
            "-Xmx768m",
            "-Dai.djl.offline=true",
            "-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR", "target/djl-cache"),
            "-Dlogback.configurationFile=" + logback()),
        Lookalike.class.getName(),
        List.of(
            "embedder",
            "--bootstrap-servers=" + kafka.bootstrapServers(),
            "--no-create-topics",
            "--metrics-port=" + port,
            "--metrics-bind=127.0.0.1",
            "-Dstate.dir=" + state,
            "-Dmodel.url=",
            "-Dmodel.input.size.px=64",
            "-Dmodel.resize.px=72",
            "-Dembed.batch.max.size=8",
            "-Dreplication.factor=3",
            "-Dsession.timeout.ms=10000",
            "-Dheartbeat.interval.ms=2000",
            "-Dproducer.transaction.timeout.ms=10000"),
        tmp.resolve("embedder-" + instance + ".log"));
  }

  /**
   * A ConnectDistributed worker as an operator runs it: Connect's classpath, the sink plugin in
   * plugin.path; internal topics replicated 3 times; a departed worker's tasks reassigned after 10
   * s (scheduled.rebalance.max.delay.ms, 5 minutes by default).
   */
  private ChildJvm startWorker(
      KafkaBroker kafka, Path plugins, Set<String> bundled, int instance, int port)
      throws IOException {
    Path props = tmp.resolve("worker-" + instance + ".properties");
    Files.writeString(
        props,
        String.join(
            "\n",
            "bootstrap.servers=" + kafka.bootstrapServers(),
            "group.id=connect-fault",
            "key.converter=org.apache.kafka.connect.json.JsonConverter",
            "value.converter=org.apache.kafka.connect.json.JsonConverter",
            "offset.storage.topic=connect-offsets",
            "offset.storage.replication.factor=3",
            "offset.storage.partitions=2",
            "config.storage.topic=connect-configs",
            "config.storage.replication.factor=3",
            "status.storage.topic=connect-status",
            "status.storage.replication.factor=3",
            "status.storage.partitions=1",
            "offset.flush.interval.ms=1000",
            "session.timeout.ms=10000",
            "heartbeat.interval.ms=2000",
            "scheduled.rebalance.max.delay.ms=10000",
            "consumer.session.timeout.ms=10000",
            "consumer.heartbeat.interval.ms=2000",
            "listeners=http://127.0.0.1:" + port,
            "rest.advertised.host.name=127.0.0.1",
            "rest.advertised.port=" + port,
            "plugin.path=" + plugins,
            "plugin.discovery=service_load",
            ""));
    return ChildJvm.start(
        "worker-" + instance,
        connectClasspath(bundled),
        List.of("-Xmx512m", "-Dlogback.configurationFile=" + logback()),
        "org.apache.kafka.connect.cli.ConnectDistributed",
        List.of(props.toString()),
        tmp.resolve("worker-" + instance + ".log"));
  }

  private ObjectNode sinkConfig(Path plugins, MilvusProtocolDouble milvus, KafkaBroker kafka)
      throws IOException {
    ObjectNode config =
        (ObjectNode)
            JSON.readTree(
                plugins
                    .resolve("lookalike-indexer-sink")
                    .resolve("etc")
                    .resolve("connect-sink.json")
                    .toFile());
    config.put("tasks.max", "2");
    config.put(MilvusConfig.URI_CONFIG, milvus.uri());
    config.put("lag.bootstrap.servers", kafka.bootstrapServers());
    config.put("errors.deadletterqueue.topic.replication.factor", "3");
    return config;
  }

  private Path logback() throws IOException {
    Path logback = tmp.resolve("logback.xml");
    if (!Files.exists(logback)) {
      Files.writeString(
          logback,
          "<configuration><appender name=\"out\" class=\"ch.qos.logback.core.ConsoleAppender\">"
              + "<encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n"
              + "</pattern></encoder></appender><logger name=\"org.apache.kafka\" level=\"WARN\"/>"
              + "<root level=\"INFO\"><appender-ref ref=\"out\"/></root></configuration>");
    }
    return logback;
  }

  /**
   * Kafka Connect's classpath: this test's, less our modules and the jars the plugin bundles, so
   * that the plugin loads only what its lib/ holds (Jackson stays: Connect's REST API needs it).
   */
  private static String connectClasspath(Set<String> bundled) {
    Path repository = Path.of("").toAbsolutePath().getParent().getParent();
    List<String> kept = new ArrayList<>();
    for (String entry : ChildJvm.testClasspath().split(File.pathSeparator)) {
      Path path = Path.of(entry).toAbsolutePath();
      String name = path.getFileName().toString();
      if (path.startsWith(repository)
          || name.startsWith("lookalike-")
          || (bundled.contains(name) && !name.startsWith("jackson-"))) {
        continue;
      }
      kept.add(entry);
    }
    return String.join(File.pathSeparator, kept);
  }

  private static Path pluginZip() throws IOException {
    Path target = Path.of("..", "..", "indexer-sink", "target");
    try (Stream<Path> files = Files.list(target)) {
      return files
          .filter(p -> p.getFileName().toString().matches("lookalike-indexer-sink-.+-plugin\\.zip"))
          .max(java.util.Comparator.comparing(p -> p.toFile().lastModified()))
          .orElseThrow(() -> new AssertionError("No sink plugin zip in " + target));
    }
  }

  private static Set<String> unzip(Path zip, Path dir) throws IOException {
    Set<String> jars = new TreeSet<>();
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
      for (ZipEntry entry; (entry = in.getNextEntry()) != null; ) {
        Path out = dir.resolve(entry.getName()).normalize();
        if (!out.startsWith(dir)) {
          throw new AssertionError("zip entry outside the directory: " + entry.getName());
        }
        if (entry.isDirectory()) {
          Files.createDirectories(out);
          continue;
        }
        Files.createDirectories(out.getParent());
        Files.copy(in, out);
        if (out.getParent().getFileName().toString().equals("lib")) {
          jars.add(out.getFileName().toString());
        }
      }
    }
    return jars;
  }

  /** The id the embedders give the bundled model: its name and the hash of its weights. */
  private static String bundledModelId() throws IOException {
    try (InputStream in =
        DjlEmbedder.class
            .getClassLoader()
            .getResourceAsStream(
                "lookalike/models/mobilenet_v2_features/mobilenet_v2_features.pt")) {
      assertThat(in).as("the bundled model on the classpath").isNotNull();
      return ModelInfo.modelId("mobilenet_v2_features", sha(in.readAllBytes()));
    }
  }

  private static KafkaProducer<String, ProductEvent> producer(KafkaBroker kafka) {
    Map<String, Object> config = new HashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 300_000);
    return new KafkaProducer<>(config, new StringSerializer(), Serdes.productEvent().serializer());
  }

  private static void send(KafkaProducer<String, ProductEvent> producer, List<ProductEvent> part) {
    for (ProductEvent event : part) {
      producer.send(new ProducerRecord<>(PRODUCT_EVENTS, event.getProductId(), event));
    }
    producer.flush();
  }

  private static void awaitSinkRunning(String rest) {
    await()
        .atMost(BOUND)
        .pollInterval(Duration.ofMillis(250))
        .ignoreExceptions()
        .until(
            () -> {
              JsonNode status = get(rest + "/connectors/" + CONNECTOR + "/status");
              JsonNode tasks = status.get("tasks");
              return status.at("/connector/state").asText().equals("RUNNING")
                  && tasks.size() == 2
                  && tasks.findValuesAsText("state").stream().allMatch("RUNNING"::equals);
            });
  }

  private static void awaitHealthy(ChildJvm child, int port) {
    await()
        .atMost(BOUND)
        .pollInterval(Duration.ofMillis(250))
        .ignoreExceptions()
        .until(
            () -> {
              assertThat(child.alive()).as(child.name() + " alive").isTrue();
              return HTTP.send(
                          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                              .timeout(Duration.ofSeconds(5))
                              .build(),
                          HttpResponse.BodyHandlers.ofString())
                      .statusCode()
                  == 200;
            });
  }

  /** Waits until the embedders have published at least 30 records since {@code before}. */
  private static void awaitProgress(KafkaBroker kafka, String topic, long before) {
    await()
        .atMost(BOUND)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> embeddingsEnd(kafka, topic) >= before + 30);
  }

  private static long embeddingsEnd(KafkaBroker kafka, String topic) throws Exception {
    try (Admin admin = kafka.admin()) {
      Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
      for (int p = 0; p < PARTITIONS; p++) {
        ends.put(new TopicPartition(topic, p), OffsetSpec.latest());
      }
      return admin.listOffsets(ends).all().get().values().stream().mapToLong(r -> r.offset()).sum();
    }
  }

  /** How many images the store still lacks, holds in an older version, or holds but should not. */
  private static int outstanding(Catalog catalog, MilvusProtocolDouble milvus, String collection) {
    Map<String, Catalog.Row> expected = catalog.expected();
    Map<String, Map<String, Object>> rows = snapshot(milvus, collection);
    int count = 0;
    for (Map.Entry<String, Catalog.Row> entry : expected.entrySet()) {
      Map<String, Object> row = rows.get(entry.getKey());
      if (row == null || ((Number) row.get("version")).longValue() != entry.getValue().version()) {
        count++;
      }
    }
    return count + (int) rows.keySet().stream().filter(k -> !expected.containsKey(k)).count();
  }

  /** True when no partition is led by {@code stopped} and every one has at least 2 in sync. */
  private static boolean ledAndInSync(KafkaBroker kafka, int stopped) throws Exception {
    try (Admin admin = kafka.admin()) {
      Set<String> names = admin.listTopics().names().get();
      for (TopicDescription topic : admin.describeTopics(names).allTopicNames().get().values()) {
        for (var partition : topic.partitions()) {
          if (partition.leader() == null
              || partition.leader().id() == stopped
              || partition.isr().size() < 2) {
            return false;
          }
        }
      }
      return true;
    }
  }

  /**
   * The partitions of the tasks a Streams stage runs, from its /metrics ({@code task_id="0_N"}).
   */
  private static Set<Integer> streamsPartitions(int metricsPort) throws Exception {
    String body =
        HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Set<Integer> partitions = new TreeSet<>();
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("task_id=\"0_(\\d+)\"").matcher(body);
    while (m.find()) {
      partitions.add(Integer.parseInt(m.group(1)));
    }
    return partitions;
  }

  /**
   * True when each partition of {@code owned} has committed embeddings past where it stood at the
   * kill (the killed instance's open transaction aborted, the new owner's committed), or has
   * nothing left to embed.
   */
  private static boolean resumed(
      KafkaBroker kafka,
      Set<Integer> owned,
      Map<Integer, Long> atKill,
      Map<Integer, Long> now,
      String group,
      Topics topics)
      throws Exception {
    Map<Integer, Long> consumed = committed(kafka, group, topics.productImages());
    Map<Integer, Long> inputEnds = stableEnds(kafka, topics.productImages());
    return owned.stream()
        .allMatch(
            n ->
                now.get(n) > atKill.get(n) || consumed.getOrDefault(n, 0L) >= inputEnds.get(n) - 1);
  }

  /** Per partition: the last stable offset (what read_committed readers can read up to). */
  private static Map<Integer, Long> stableEnds(KafkaBroker kafka, String topic) throws Exception {
    try (Admin admin = kafka.admin()) {
      Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
      for (int p = 0; p < PARTITIONS; p++) {
        ends.put(new TopicPartition(topic, p), OffsetSpec.latest());
      }
      Map<Integer, Long> out = new TreeMap<>();
      admin
          .listOffsets(
              ends,
              new org.apache.kafka.clients.admin.ListOffsetsOptions(
                  org.apache.kafka.common.IsolationLevel.READ_COMMITTED))
          .all()
          .get()
          .forEach((tp, info) -> out.put(tp.partition(), info.offset()));
      return out;
    }
  }

  /** Per partition of {@code topic}: the group's committed offset. */
  private static Map<Integer, Long> committed(KafkaBroker kafka, String group, String topic)
      throws Exception {
    try (Admin admin = kafka.admin()) {
      Map<Integer, Long> out = new TreeMap<>();
      admin
          .listConsumerGroupOffsets(group)
          .partitionsToOffsetAndMetadata()
          .get()
          .forEach(
              (tp, offset) -> {
                if (tp.topic().equals(topic) && offset != null) {
                  out.put(tp.partition(), offset.offset());
                }
              });
      return out;
    }
  }

  /**
   * The partitions of {@code topic} that the sink tasks on the worker at {@code port} consume: the
   * task ids from the connector's status, their consumers' assignment from the sink's group.
   */
  private static Set<Integer> sinkPartitions(String rest, KafkaBroker kafka, int port, String topic)
      throws Exception {
    Set<String> clients = new TreeSet<>();
    for (JsonNode task : get(rest + "/connectors/" + CONNECTOR + "/status").get("tasks")) {
      if (task.get("worker_id").asText().endsWith(":" + port)) {
        clients.add("connector-consumer-" + CONNECTOR + "-" + task.get("id").asInt());
      }
    }
    Set<Integer> partitions = new TreeSet<>();
    try (Admin admin = kafka.admin()) {
      var group =
          admin
              .describeConsumerGroups(List.of("connect-" + CONNECTOR))
              .all()
              .get()
              .get("connect-" + CONNECTOR);
      for (var member : group.members()) {
        if (clients.contains(member.clientId())) {
          member.assignment().topicPartitions().stream()
              .filter(tp -> tp.topic().equals(topic))
              .forEach(tp -> partitions.add(tp.partition()));
        }
      }
    }
    return partitions;
  }

  /** Which of the workers (by REST port) runs task {@code task} of the sink. */
  private static int workerOf(String rest, int task, int[] ports) throws Exception {
    for (JsonNode t : get(rest + "/connectors/" + CONNECTOR + "/status").get("tasks")) {
      if (t.get("id").asInt() == task) {
        String worker = t.get("worker_id").asText();
        for (int i = 0; i < ports.length; i++) {
          if (worker.endsWith(":" + ports[i])) {
            return i;
          }
        }
      }
    }
    throw new AssertionError("No worker runs task " + task + " of " + CONNECTOR);
  }

  /** True when every partition of every topic has all its replicas in sync. */
  private static boolean fullyReplicated(KafkaBroker kafka) throws Exception {
    try (Admin admin = kafka.admin()) {
      Set<String> names = admin.listTopics().names().get();
      for (TopicDescription topic : admin.describeTopics(names).allTopicNames().get().values()) {
        for (var partition : topic.partitions()) {
          if (partition.isr().size() < partition.replicas().size()) {
            return false;
          }
        }
      }
      return true;
    }
  }

  /** (productId/imageId@version) -> how many times it is in the committed embeddings topic. */
  private static Map<String, Integer> committedEmbeddings(KafkaBroker kafka, String topic) {
    Map<String, Object> config = new HashMap<>();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 << 20);
    Map<String, Integer> seen = new LinkedHashMap<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (int p = 0; p < PARTITIONS; p++) {
        partitions.add(new TopicPartition(topic, p));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      await()
          .atMost(BOUND)
          .until(
              () -> {
                for (ConsumerRecord<String, byte[]> record :
                    consumer.poll(Duration.ofMillis(200))) {
                  if (record.value() != null) {
                    ImageEmbedding e = Serdes.imageEmbedding().deserialize(record.value());
                    seen.merge(record.key() + "@" + e.getVersion(), 1, Integer::sum);
                  }
                }
                return partitions.stream().allMatch(p -> consumer.position(p) >= ends.get(p));
              });
    }
    return seen;
  }

  private static String productOf(String key) {
    return key.substring(0, key.indexOf('/'));
  }

  private static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  private void step(String what, long since) {
    record(what + " after " + ms(since) + " ms");
  }

  private static long ms(long since) {
    return (System.nanoTime() - since) / 1_000_000;
  }

  private void record(String line) {
    report.add(line);
    System.out.println("DistributedFaultIT: " + line);
  }

  private static JsonNode get(String url) throws Exception {
    HttpResponse<InputStream> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = response.body()) {
      JsonNode json = JSON.readTree(body);
      if (response.statusCode() != 200) {
        throw new IllegalStateException(url + ": " + response.statusCode() + " " + json);
      }
      return json;
    }
  }

  private static void put(String url, ObjectNode body) throws Exception {
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isIn(200, 201);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static String sha(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
