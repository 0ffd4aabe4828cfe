package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lookalike.embedder.EmbedderApp;
import io.lookalike.ingest.FetcherApp;
import io.lookalike.ingest.FetcherConfig;
import io.lookalike.model.DjlEmbedder;
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
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both built plugin zips installed as an operator installs them: unzipped into a plugin.path
 * directory of a stock {@code ConnectDistributed} worker in a child JVM whose classpath is Kafka
 * Connect's (our modules and the jars the zips bundle left out), configured through the REST API;
 * source → fetcher → embedder → sink end to end, into Milvus's protocol (the in-JVM double).
 */
class ConnectPluginPathIT {

  private static final int PRODUCTS = 4;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @TempDir Path tmp;

  @Test
  void builtZipsRunInAConnectDistributedWorkerThroughPluginPath() throws Exception {
    long t0 = System.nanoTime();
    Path plugins = Files.createDirectories(tmp.resolve("plugins"));
    Set<String> bundled = new java.util.TreeSet<>();
    bundled.addAll(
        unzip(pluginZip("ingest-connector", "lookalike-catalog-feed-connector"), plugins));
    bundled.addAll(unzip(pluginZip("indexer-sink", "lookalike-indexer-sink"), plugins));
    Path feeds = Files.createDirectories(tmp.resolve("feeds"));

    try (KafkaBroker kafka = KafkaBroker.start();
        MilvusProtocolDouble milvus = new MilvusProtocolDouble()) {
      Topics topics = Topics.from(Map.of());
      try (var admin = kafka.admin()) {
        TopicAdmin.ensureTopics(admin, topics, 2, (short) 1);
      }
      int port = freePort();
      Process worker = startWorker(kafka, plugins, port, bundled);
      String rest = "http://127.0.0.1:" + port;
      boolean passed = false;
      try {
        // The fetcher and the embedder start while the worker does
        Map<String, Object> stage = new HashMap<>();
        stage.put("bootstrap.servers", kafka.bootstrapServers());
        stage.put("state.dir", Files.createDirectories(tmp.resolve("state")).toString());
        stage.put(FetcherConfig.FETCH_ALLOW_FILE_CONFIG, "true");
        try (DjlEmbedder embedder = DjlEmbedder.loadDefault();
            FetcherApp fetcher = new FetcherApp(new HashMap<>(stage), new SimpleMeterRegistry());
            EmbedderApp embed =
                new EmbedderApp(new HashMap<>(stage), embedder, new SimpleMeterRegistry())) {
          String modelId = embedder.model().modelId();
          try (var admin = kafka.admin()) {
            admin
                .createTopics(
                    List.of(
                        new org.apache.kafka.clients.admin.NewTopic(
                            topics.embeddings(modelId), 2, (short) 1),
                        new org.apache.kafka.clients.admin.NewTopic(
                                topics.embeddingCache(modelId), 2, (short) 1)
                            .configs(Map.of("cleanup.policy", "compact"))))
                .all()
                .get();
          }
          fetcher.start();
          embed.start();

          // Given the worker up, with both plugins found through plugin.path, at our version
          await()
              .atMost(Duration.ofSeconds(180))
              .ignoreExceptions()
              .until(() -> get(rest + "/connector-plugins").isArray());
          assertThat(alive(worker)).isTrue();
          long workerUp = System.nanoTime();
          Map<String, String> versions = new HashMap<>();
          get(rest + "/connector-plugins")
              .forEach(p -> versions.put(p.get("class").asText(), p.get("version").asText()));
          String version = projectVersion();
          assertThat(versions)
              .containsEntry("io.lookalike.ingest.connect.CatalogFeedSourceConnector", version)
              .containsEntry("io.lookalike.indexer.connect.LookalikeSinkConnector", version);

          // When the source (sample config, feed.dir here) and the sink (sample config, Milvus
          // here) are created through the REST API, and a feed of real photos arrives
          put(rest + "/connectors/catalog-feed/config", sourceConfig(feeds));
          put(rest + "/connectors/lookalike-sink/config", sinkConfig(milvus, kafka));
          List<SampleImages.Photo> photos = SampleImages.photos("test", PRODUCTS);
          StringBuilder feed = new StringBuilder();
          for (int i = 0; i < PRODUCTS; i++) {
            feed.append(
                    "{\"productId\":\"p%d\",\"version\":1,\"title\":\"%s\",\"price\":10.0,"
                        .formatted(i, photos.get(i).category()))
                .append("\"currency\":\"EUR\",\"image\":\"")
                .append(photos.get(i).path().toUri())
                .append("\"}\n");
          }
          Path part = feeds.resolve("catalog.jsonl.tmp");
          Files.writeString(part, feed);
          Files.move(part, feeds.resolve("catalog.jsonl"));

          // Then every product is searchable in Milvus, both connectors RUNNING
          String collection = "lookalike_" + modelId;
          await()
              .atMost(Duration.ofSeconds(180))
              .pollInterval(Duration.ofMillis(250))
              .until(
                  () -> {
                    MilvusProtocolDouble.Collection c = milvus.collection(collection);
                    return c != null && c.rows.size() == PRODUCTS;
                  });
          long searchable = System.nanoTime();
          assertThat(milvus.collection(collection).rows.keySet())
              .allMatch(key -> key.matches("p[0-3]/.+"));
          assertThat(milvus.aliasTarget("lookalike_active")).isEqualTo(collection);
          // and the sink's group has committed the end of the embedder's transactional topic (lag
          // 0)
          await()
              .atMost(Duration.ofSeconds(120))
              .pollInterval(Duration.ofMillis(250))
              .until(() -> lag(kafka, topics.embeddings(modelId)) == 0);
          for (String name : List.of("catalog-feed", "lookalike-sink")) {
            JsonNode status = get(rest + "/connectors/" + name + "/status");
            assertThat(status.at("/connector/state").asText()).as(name).isEqualTo("RUNNING");
            assertThat(status.at("/tasks/0/state").asText()).as(name).isEqualTo("RUNNING");
          }
          System.out.printf(
              "plugin.path worker: up %d ms after unzip; %d products searchable %d ms after the "
                  + "worker was up; lag 0 %d ms later (%d ms in all)%n",
              (workerUp - t0) / 1_000_000,
              PRODUCTS,
              (searchable - workerUp) / 1_000_000,
              (System.nanoTime() - searchable) / 1_000_000,
              (System.nanoTime() - t0) / 1_000_000);
        }
        passed = true;
      } finally {
        worker.destroy();
        if (!worker.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
          worker.destroyForcibly();
        }
        if (!passed) {
          System.out.println("worker log tail:\n" + tail(tmp.resolve("worker.log"), 80));
        }
      }
      assertThat(Files.readString(tmp.resolve("worker.log")))
          .doesNotContain("Ignoring invalid task provided offset");
    }
  }

  /** The version in the sink zip's name: what both connectors must report. */
  private static String projectVersion() throws IOException {
    String zip = pluginZip("indexer-sink", "lookalike-indexer-sink").getFileName().toString();
    return zip.substring("lookalike-indexer-sink-".length(), zip.length() - "-plugin.zip".length());
  }

  /** End offset minus the sink group's committed offset, summed over the topic's partitions. */
  private static long lag(KafkaBroker kafka, String topic) throws Exception {
    try (var admin = kafka.admin()) {
      var committed =
          admin
              .listConsumerGroupOffsets("connect-lookalike-sink")
              .partitionsToOffsetAndMetadata()
              .get();
      long lag = 0;
      for (int p = 0; p < 2; p++) {
        var partition = new org.apache.kafka.common.TopicPartition(topic, p);
        long end =
            admin
                .listOffsets(Map.of(partition, org.apache.kafka.clients.admin.OffsetSpec.latest()))
                .all()
                .get()
                .get(partition)
                .offset();
        var done = committed.get(partition);
        lag += end - (done == null ? 0 : done.offset());
      }
      return lag;
    }
  }

  /** The sample source config of the zip (etc/), with this test's feed directory. */
  private ObjectNode sourceConfig(Path feeds) throws IOException {
    ObjectNode config = sample("lookalike-catalog-feed-connector", "connect-catalog-feed.json");
    config.put("feed.dir", feeds.toString());
    config.put("feed.poll.interval.ms", "200");
    config.put("feed.file.settle.ms", "0");
    return config;
  }

  /** The sample sink config of the zip (etc/), against the double and this broker. */
  private ObjectNode sinkConfig(MilvusProtocolDouble milvus, KafkaBroker kafka) throws IOException {
    ObjectNode config = sample("lookalike-indexer-sink", "connect-sink.json");
    config.put("tasks.max", "1");
    config.put(MilvusConfig.URI_CONFIG, milvus.uri());
    config.put("lag.bootstrap.servers", kafka.bootstrapServers());
    return config;
  }

  private ObjectNode sample(String plugin, String file) throws IOException {
    return (ObjectNode)
        JSON.readTree(tmp.resolve("plugins").resolve(plugin).resolve("etc").resolve(file).toFile());
  }

  /**
   * A ConnectDistributed worker with the stock worker settings (config/connect-distributed.
   * properties of Kafka's distribution) plus this broker, port and plugin.path.
   */
  private Process startWorker(KafkaBroker kafka, Path plugins, int port, Set<String> bundled)
      throws IOException {
    Path props = tmp.resolve("connect-distributed.properties");
    Files.writeString(
        props,
        String.join(
            "\n",
            "bootstrap.servers=" + kafka.bootstrapServers(),
            "group.id=connect-cluster",
            "key.converter=org.apache.kafka.connect.json.JsonConverter",
            "value.converter=org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable=true",
            "value.converter.schemas.enable=true",
            "offset.storage.topic=connect-offsets",
            "offset.storage.replication.factor=1",
            // fewer partitions than the stock 25 and 5: one broker, one worker, quicker to create
            "offset.storage.partitions=2",
            "status.storage.partitions=1",
            "config.storage.topic=connect-configs",
            "config.storage.replication.factor=1",
            "status.storage.topic=connect-status",
            "status.storage.replication.factor=1",
            "offset.flush.interval.ms=1000",
            "listeners=http://127.0.0.1:" + port,
            "rest.advertised.host.name=127.0.0.1",
            "plugin.path=" + plugins,
            "plugin.discovery=service_load",
            ""));
    Path logback = tmp.resolve("logback.xml");
    Files.writeString(
        logback,
        "<configuration><appender name=\"out\" class=\"ch.qos.logback.core.ConsoleAppender\">"
            + "<encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n"
            + "</pattern></encoder></appender><logger name=\"org.apache.kafka.clients\" "
            + "level=\"WARN\"/><root level=\"INFO\"><appender-ref ref=\"out\"/></root>"
            + "</configuration>");
    ProcessBuilder builder =
        new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx512m",
            "-Dlogback.configurationFile=" + logback,
            "-cp",
            connectClasspath(bundled),
            "org.apache.kafka.connect.cli.ConnectDistributed",
            props.toString());
    builder.redirectErrorStream(true);
    builder.redirectOutput(tmp.resolve("worker.log").toFile());
    return builder.start();
  }

  /**
   * Kafka Connect's classpath: this test's, less our modules (the repository's build output) and
   * the jars the zips bundle, so that the plugins load only what their lib/ holds. Jackson stays:
   * Connect's own REST API and JsonConverter need it.
   */
  private static String connectClasspath(Set<String> bundled) {
    String classpath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path repository = Path.of("").toAbsolutePath().getParent().getParent();
    List<String> kept = new ArrayList<>();
    for (String entry : classpath.split(File.pathSeparator)) {
      Path path = Path.of(entry).toAbsolutePath();
      String name = path.getFileName().toString();
      if (path.startsWith(repository)
          || name.startsWith("lookalike-")
          || (bundled.contains(name) && !name.startsWith("jackson-"))) {
        continue;
      }
      kept.add(entry);
    }
    assertThat(String.join(" ", kept)).contains("connect-runtime-").doesNotContain("lookalike-");
    return String.join(File.pathSeparator, kept);
  }

  /** target/NAME-VERSION-plugin.zip of a module, built by its package phase. */
  private static Path pluginZip(String module, String name) throws IOException {
    Path target = Path.of("..", "..", module, "target");
    try (Stream<Path> files = Files.list(target)) {
      return files
          .filter(p -> p.getFileName().toString().matches(name + "-.+-plugin\\.zip"))
          .max(java.util.Comparator.comparing(p -> p.toFile().lastModified())) // the latest build
          .orElseThrow(
              () ->
                  new AssertionError(
                      "No " + name + "-*-plugin.zip in " + target + ": build with -am"));
    }
  }

  /** Unzips {@code zip} into {@code dir}; returns the jar file names under its lib/. */
  private static Set<String> unzip(Path zip, Path dir) throws IOException {
    Set<String> jars = new java.util.TreeSet<>();
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
      for (ZipEntry entry; (entry = in.getNextEntry()) != null; ) {
        Path out = dir.resolve(entry.getName()).normalize();
        assertThat(out.startsWith(dir)).as(entry.getName()).isTrue();
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

  private static boolean alive(Process worker) {
    return worker.isAlive();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static String tail(Path log, int lines) throws IOException {
    if (!Files.exists(log)) {
      return "(none)";
    }
    List<String> all = Files.readAllLines(log);
    return all.subList(Math.max(0, all.size() - lines), all.size()).stream()
        .collect(Collectors.joining("\n"));
  }
}
