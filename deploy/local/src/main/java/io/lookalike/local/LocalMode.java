package io.lookalike.local;

import io.lookalike.embedder.DjlEmbedder;
import io.lookalike.embedder.Embedder;
import io.lookalike.embedder.EmbedderApp;
import io.lookalike.embedder.EmbeddingModelConfig;
import io.lookalike.gateway.GatewayConfig;
import io.lookalike.gateway.GatewayServer;
import io.lookalike.gateway.HealthCheck;
import io.lookalike.gateway.PhotoValidator;
import io.lookalike.gateway.UrlFetcher;
import io.lookalike.gateway.SearchService;
import io.lookalike.indexer.EmbeddingSink;
import io.lookalike.indexer.LuceneVectorStore;
import io.lookalike.indexer.VectorStore;
import io.lookalike.ingest.CatalogFileLoader;
import io.lookalike.ingest.FetcherApp;
import io.lookalike.ingest.FetcherConfig;
import io.lookalike.ingest.ImageDownloader;
import io.lookalike.ingest.ImageNormaliser;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.TopicAdmin;
import io.lookalike.schemas.Topics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole pipeline in one JVM: an in-process KRaft broker, the image fetcher, the embedder on CPU,
 * the sink into an embedded Lucene index, and the query gateway with its web page. Everything it
 * keeps lives under one data directory, so a restart picks up where it stopped.
 */
public final class LocalMode implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LocalMode.class);
  private static final String SAMPLE_RESOURCE = "/lookalike/sample-catalog/";
  private static final String SAMPLE_LOADED_MARKER = "sample-catalog.loaded";

  /** What to start. Ports of 0 for the gateway mean "any free port". */
  public record Options(
      Path dataDir, String host, int kafkaPort, int controllerPort, int gatewayPort, String gatewayHost,
      String modelUrl, int partitions, boolean loadSampleCatalog, Map<String, Object> overrides) {
    public Options {
      Objects.requireNonNull(dataDir, "dataDir");
      overrides = overrides == null ? Map.of() : Map.copyOf(overrides);
    }
  }

  private final Options options;
  private final Deque<AutoCloseable> started = new ArrayDeque<>();
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private LocalKafka kafka;
  private Embedder embedder;
  private VectorStore store;
  private FetcherApp fetcher;
  private EmbedderApp embedderApp;
  private EmbeddingSink sink;
  private GatewayServer gateway;
  private int gatewayPort;
  private final Topics topics;

  public LocalMode(Options options) {
    this.options = options;
    this.topics = Topics.from(options.overrides());
  }

  /** Starts every stage; returns when the gateway answers. */
  public LocalMode start() throws Exception {
    Path data = options.dataDir().toAbsolutePath();
    Files.createDirectories(data);
    long t0 = System.nanoTime();

    kafka = remember(LocalKafka.start(data.resolve("kafka"), options.host(), options.kafkaPort(), options.controllerPort()));

    embedder = remember(options.modelUrl() == null || options.modelUrl().isBlank()
        ? DjlEmbedder.loadDefault()
        : DjlEmbedder.load(EmbeddingModelConfig.of(options.modelUrl())));
    String modelId = embedder.model().modelId();
    log.info("Model {} ({}-d) loaded", modelId, embedder.model().dimension());

    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      TopicAdmin.ensureTopics(admin, topics, options.partitions(), (short) 1, modelId);
    }

    store = remember(LuceneVectorStore.open(data.resolve("index").resolve(modelId), modelId, embedder.model().dimension()));

    fetcher = remember(new FetcherApp(stageConfig(data, Map.of("image.fetch.allow.file", "true")), registry));
    fetcher.start();
    embedderApp = remember(new EmbedderApp(stageConfig(data, Map.of()), embedder, registry));
    embedderApp.start();
    sink = remember(new EmbeddingSink(stageConfig(data, Map.of()), store, registry));
    sink.start();

    Map<String, Object> gatewayProps = new HashMap<>(options.overrides());
    gatewayProps.put(GatewayConfig.PORT_CONFIG, Integer.toString(options.gatewayPort()));
    gatewayProps.put(GatewayConfig.HOST_CONFIG, options.gatewayHost());
    // The page shows the sample catalog's photos, which are files under the data directory.
    gatewayProps.put(GatewayConfig.IMAGES_ALLOWED_DIR_CONFIG, data.toString());
    GatewayConfig gatewayConfig = new GatewayConfig(gatewayProps);
    FetcherConfig fetcherConfig = new FetcherConfig(options.overrides());
    SearchService search = new SearchService(embedder, () -> store,
        PhotoValidator.of(ImageNormaliser.from(fetcherConfig)), UrlFetcher.of(ImageDownloader.from(fetcherConfig)),
        gatewayConfig);
    gateway = remember(new GatewayServer(gatewayConfig, search, registry));
    gateway.addHealthCheck("fetcher", streamsHealth(() -> fetcher.streams().state()));
    gateway.addHealthCheck("embedder", streamsHealth(() -> embedderApp.streams().state()));
    gatewayPort = gateway.start();
    log.info("Local mode up in {} ms", (System.nanoTime() - t0) / 1_000_000);

    if (options.loadSampleCatalog() && !Files.exists(data.resolve(SAMPLE_LOADED_MARKER))) {
      loadSampleCatalog(data);
    }
    return this;
  }

  private static HealthCheck streamsHealth(Supplier<KafkaStreams.State> state) {
    return () -> {
      KafkaStreams.State now = state.get();
      return now.isRunningOrRebalancing() ? HealthCheck.Status.up(now.name()) : HealthCheck.Status.down(now.name());
    };
  }

  private Map<String, Object> stageConfig(Path data, Map<String, Object> extra) {
    Map<String, Object> config = new HashMap<>(options.overrides());
    config.put("bootstrap.servers", kafka.bootstrapServers());
    config.put("state.dir", data.resolve("streams").toString());
    config.putAll(extra);
    return config;
  }

  /** Copies the bundled sample catalog out of the jar and publishes it, once. */
  private void loadSampleCatalog(Path data) throws IOException {
    Path dir = data.resolve("sample-catalog");
    Path catalog = extractSampleCatalog(dir);
    try (KafkaProducer<String, ProductEvent> producer = eventProducer(kafka.bootstrapServers())) {
      var result = CatalogFileLoader.load(catalog, producer, topics.productEvents(), true);
      log.info("Sample catalog: {} product events published from {}", result.published(), catalog);
    }
    Files.writeString(data.resolve(SAMPLE_LOADED_MARKER), "loaded\n");
  }

  static Path extractSampleCatalog(Path dir) throws IOException {
    Files.createDirectories(dir.resolve("images"));
    Path catalog = dir.resolve("catalog.jsonl");
    copyResource(SAMPLE_RESOURCE + "catalog.jsonl", catalog);
    copyResource(SAMPLE_RESOURCE + "LICENSE", dir.resolve("LICENSE"));
    copyResource(SAMPLE_RESOURCE + "README.md", dir.resolve("README.md"));
    for (String line : Files.readAllLines(catalog)) {
      var m = java.util.regex.Pattern.compile("\"url\": \"(images/[^\"]+)\"").matcher(line);
      while (m.find()) {
        copyResource(SAMPLE_RESOURCE + m.group(1), dir.resolve(m.group(1)));
      }
    }
    return catalog;
  }

  private static void copyResource(String resource, Path target) throws IOException {
    try (InputStream in = LocalMode.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("Missing bundled resource " + resource);
      }
      Files.copy(in, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
  }

  static KafkaProducer<String, ProductEvent> eventProducer(String bootstrapServers) {
    Map<String, Object> props = new HashMap<>();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    return new KafkaProducer<>(props, new StringSerializer(), Serdes.productEvent().serializer());
  }

  public String bootstrapServers() {
    return kafka.bootstrapServers();
  }

  public int gatewayPort() {
    return gatewayPort;
  }

  public String gatewayUrl() {
    String host = "0.0.0.0".equals(options.gatewayHost()) ? "localhost" : options.gatewayHost();
    return "http://" + host + ":" + gatewayPort + "/";
  }

  public Topics topics() {
    return topics;
  }

  public Embedder embedder() {
    return embedder;
  }

  public VectorStore store() {
    return store;
  }

  public EmbedderApp embedderApp() {
    return embedderApp;
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  private <T extends AutoCloseable> T remember(T resource) {
    started.push(resource);
    return resource;
  }

  /** Stops the stages in the reverse order of their start. */
  @Override
  public void close() {
    while (!started.isEmpty()) {
      AutoCloseable resource = started.pop();
      try {
        resource.close();
      } catch (Exception e) {
        log.warn("Error while stopping {}", resource.getClass().getSimpleName(), e);
      }
    }
  }
}
