package io.lookalike.local;

import io.javalin.config.RoutesConfig;
import io.lookalike.embedder.EmbedderApp;
import io.lookalike.gateway.AdminGuard;
import io.lookalike.gateway.GatewayConfig;
import io.lookalike.gateway.GatewayServer;
import io.lookalike.gateway.HealthCheck;
import io.lookalike.gateway.HealthConfig;
import io.lookalike.gateway.LagProgressCheck;
import io.lookalike.gateway.ModelAdminRoutes;
import io.lookalike.gateway.PhotoValidator;
import io.lookalike.gateway.SearchService;
import io.lookalike.gateway.SecretFile;
import io.lookalike.gateway.StageHealth;
import io.lookalike.gateway.ThumbnailFeeder;
import io.lookalike.gateway.Thumbnails;
import io.lookalike.gateway.UrlFetcher;
import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.ingest.CatalogFileLoader;
import io.lookalike.ingest.FetcherApp;
import io.lookalike.ingest.FetcherConfig;
import io.lookalike.ingest.webhook.WebhookConfig;
import io.lookalike.ingest.webhook.WebhookReceiver;
import io.lookalike.lifecycle.ModelPipelines;
import io.lookalike.model.Embedder;
import io.lookalike.schemas.DataDirLock;
import io.lookalike.schemas.FreeSpace;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.TopicAdmin;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.lookalike.store.VectorStore;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole pipeline in one JVM: an in-process KRaft broker, the image fetcher, the embedder on
 * CPU, the sink into an embedded Lucene index, and the query gateway with its web page. Everything
 * it keeps lives under one data directory, so a restart picks up where it stopped.
 */
public final class LocalMode implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LocalMode.class);
  private static final String SAMPLE_RESOURCE = "/lookalike/sample-catalog/";
  private static final String SAMPLE_LOADED_MARKER = "sample-catalog.loaded";

  /** Where the generated admin secret lives in the data directory. */
  public static final String ADMIN_SECRET_FILE = "admin.secret";

  /**
   * Setting (in the overrides): let the admin API answer clients on other machines too. Default
   * false.
   */
  public static final String ADMIN_ALLOW_REMOTE_CONFIG = GatewayConfig.ADMIN_ALLOW_REMOTE_CONFIG;

  public static final String MIN_FREE_BYTES_CONFIG = HealthConfig.MIN_FREE_BYTES_CONFIG;
  public static final String STUCK_AFTER_MS_CONFIG = HealthConfig.STUCK_AFTER_MS_CONFIG;

  /** What to start. Ports of 0 for the gateway mean "any free port". */
  public record Options(
      Path dataDir,
      String host,
      int kafkaPort,
      int controllerPort,
      int gatewayPort,
      String gatewayHost,
      String modelUrl,
      int partitions,
      boolean loadSampleCatalog,
      Map<String, Object> overrides) {
    public Options {
      Objects.requireNonNull(dataDir, "dataDir");
      overrides = overrides == null ? Map.of() : Map.copyOf(overrides);
    }
  }

  private final Options options;
  private final Resources started = new Resources(log);
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private LocalKafka kafka;
  private ModelPipelines pipelines;
  private FetcherApp fetcher;
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
    // Before anything under it is touched: a second instance must not write into this one's broker.
    remember(DataDirLock.acquire(data));
    // A full disk makes Kafka halt and the index die of "unsafe memory access": say so first, by
    // name.
    HealthConfig healthRules = new HealthConfig(options.overrides());
    FreeSpace freeSpace = new FreeSpace(data, healthRules.minFreeBytes());
    freeSpace.requireRoom(MIN_FREE_BYTES_CONFIG);
    long t0 = System.nanoTime();

    kafka =
        remember(
            LocalKafka.start(
                data.resolve("kafka"),
                options.host(),
                options.kafkaPort(),
                options.controllerPort()));

    try (Admin admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      TopicAdmin.ensureTopics(admin, topics, options.partitions(), (short) 1);
    }

    // Every registered model's pipeline (embedder app, index, sink); the first start registers the
    // default.
    pipelines =
        remember(
            new ModelPipelines(
                data, stageConfig(data, Map.of()), topics, options.partitions(), registry));
    pipelines.start(options.modelUrl());
    String modelId = pipelines.active().modelId();
    if (options.modelUrl() != null
        && !options.modelUrl().isBlank()
        && !options.modelUrl().equals(pipelines.pipelineUrl(modelId))) {
      log.warn(
          "Serving model {} from the registry ({}); --model {} is only used on first start: "
              + "switch models with `lookalike reembed --model ...`",
          modelId,
          data.resolve("models.json"),
          options.modelUrl());
    }

    fetcher =
        remember(
            new FetcherApp(stageConfig(data, Map.of("image.fetch.allow.file", "true")), registry));
    FetcherApp startedFetcher = fetcher;
    remember(() -> startedFetcher.app().closeLeavingGroup()); // runs before fetcher.close()
    fetcher.start();

    Map<String, Object> gatewayProps = new HashMap<>(options.overrides());
    gatewayProps.remove(MIN_FREE_BYTES_CONFIG);
    gatewayProps.remove(STUCK_AFTER_MS_CONFIG);
    gatewayProps.put(GatewayConfig.PORT_CONFIG, Integer.toString(options.gatewayPort()));
    gatewayProps.put(GatewayConfig.HOST_CONFIG, options.gatewayHost());
    // The page shows the sample catalog's photos, which are files under the data directory.
    gatewayProps.put(GatewayConfig.IMAGES_ALLOWED_DIR_CONFIG, data.toString());
    GatewayConfig gatewayConfig = new GatewayConfig(gatewayProps);
    FetcherConfig fetcherConfig = new FetcherConfig(options.overrides());
    // One read per request of the active model: the query is embedded with the model of the index
    // it searches.
    SearchService search =
        remember(
            new SearchService(
                pipelines::active,
                PhotoValidator.of(ImageNormaliser.from(fetcherConfig)),
                UrlFetcher.of(ImageDownloader.from(fetcherConfig)),
                gatewayConfig));
    // A share of live searches also runs against the models catching up or waiting for the switch.
    search.mirrorTo(pipelines);
    boolean allowRemote = gatewayConfig.adminAllowRemote();
    // Result images and card thumbnails come from the normalised bytes in product-images, for every
    // way in.
    Thumbnails thumbnails = new Thumbnails(data.resolve("thumbnails"));
    remember(
        new ThumbnailFeeder(
                feederSettings(kafka.bootstrapServers(), options.overrides()),
                topics.productImages(),
                thumbnails,
                registry)
            .start());
    gateway =
        remember(
            new GatewayServer(gatewayConfig, search, registry)
                .thumbnails(thumbnails)
                .modelDirectory(pipelines)
                .changeStatus(new LocalChangeStatus(fetcher, pipelines))
                .addRoutes(
                    new ModelAdminRoutes(
                        new LocalModelAdmin(
                            pipelines,
                            kafka.bootstrapServers(),
                            topics.productImages(),
                            new SchemaRegistryConfig(options.overrides()).clientOrNull()),
                        allowRemote,
                        adminGuard(data, gatewayConfig),
                        gatewayConfig))
                .addRoutes(webhookRoutes(data)));
    gateway.addHealthCheck("fetcher", StageCommands.streamsHealth(fetcher.app()));
    gateway.addHealthCheck(
        "embedder",
        () -> {
          for (String id : pipelines.modelIds()) {
            var pipeline = pipelines.pipeline(id);
            if (!pipeline.consuming()) {
              continue; // refused: stopped on purpose
            }
            KafkaStreams.State state = pipeline.app().streams().state();
            if (!state.isRunningOrRebalancing()) {
              return HealthCheck.Status.down(id + ": " + state.name());
            }
          }
          return HealthCheck.Status.up("RUNNING (" + pipelines.modelIds().size() + " models)");
        });
    HealthCheck disk = StageHealth.disk(freeSpace);
    gateway.addHealthCheck("disk", disk);
    // Checked every second whether or not anyone asks /health: running out of room is logged,
    // naming
    // the directory, before the broker's append fails.
    java.util.concurrent.ScheduledExecutorService diskWatch =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "lookalike-disk-watch");
              t.setDaemon(true);
              return t;
            });
    diskWatch.scheduleWithFixedDelay(
        () -> pauseFetchingWhileLow(disk.check()), 1, 1, java.util.concurrent.TimeUnit.SECONDS);
    remember((AutoCloseable) diskWatch::shutdownNow);
    gateway.addHealthCheck("progress", progressCheck(healthRules.stuckAfterMs()));
    gatewayPort = gateway.start();
    log.info("Local mode up in {} ms", (System.nanoTime() - t0) / 1_000_000);

    if (options.loadSampleCatalog() && !Files.exists(data.resolve(SAMPLE_LOADED_MARKER))) {
      loadSampleCatalog(data);
    }
    return this;
  }

  /**
   * Below the disk floor the fetcher, the one stage that brings photo bytes in, is paused (Kafka
   * Streams' {@code pause()}: it stays in its group, commits what it did, processes nothing), so
   * that the pipeline's own writes never fill the disk: a broker whose only log directory fails
   * halts the JVM. New events are small and wait in catalog.product-events; the photos in flight
   * are embedded and indexed. Resumed as soon as there is room again, with nothing to restart.
   */
  private void pauseFetchingWhileLow(HealthCheck.Status disk) {
    KafkaStreams streams = fetcher.app().streams();
    if (!disk.up() && !streams.isPaused()) {
      streams.pause();
      log.warn(
          "Fetching new photos paused until there is room on disk ({}); events wait in {}",
          disk.detail(),
          topics.productEvents());
    } else if (disk.up() && streams.isPaused()) {
      streams.resume();
      log.info("Fetching resumed: {}", disk.detail());
    }
  }

  /**
   * {@code POST /v1/events}: the catalog webhook, in the gateway's process. Callers authenticate
   * with a bearer secret that is generated on first start into {@code <data>/webhook.secret} unless
   * {@code webhook.secret} (or {@code webhook.auth}) is set.
   */
  private Consumer<RoutesConfig> webhookRoutes(Path data) throws IOException {
    Map<String, Object> props = new HashMap<>(options.overrides());
    props.put(WebhookConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    props.putIfAbsent(
        WebhookConfig.ALLOW_FILE_URLS_CONFIG, "true"); // as the local fetcher: one file: rule
    if (!props.containsKey(WebhookConfig.SECRET_CONFIG)) {
      props.put(
          WebhookConfig.SECRET_CONFIG, SecretFile.readOrCreate(data.resolve("webhook.secret")));
    }
    WebhookReceiver receiver = remember(new WebhookReceiver(new WebhookConfig(props), registry));
    return routes ->
        routes.post(
            "/v1/events",
            ctx -> {
              WebhookReceiver.Response response =
                  receiver.handle(ctx.bodyAsBytes(), ctx.headerMap());
              response.headers().forEach(ctx::header);
              ctx.status(response.status())
                  .contentType(WebhookReceiver.Response.CONTENT_TYPE)
                  .result(response.body());
            });
  }

  /**
   * DOWN, naming the model, while a model's lag (to embed plus to index) stays up without going
   * down.
   */
  private HealthCheck progressCheck(long stuckAfterMs) {
    Map<String, LagProgressCheck> byModel = new java.util.concurrent.ConcurrentHashMap<>();
    return () -> {
      byModel.keySet().retainAll(pipelines.modelIds());
      StringBuilder detail = new StringBuilder();
      boolean up = true;
      for (String id : new java.util.TreeSet<>(pipelines.modelIds())) {
        HealthCheck.Status status =
            byModel
                .computeIfAbsent(
                    id,
                    m -> new LagProgressCheck(m, () -> pipelines.progress(m).lag(), stuckAfterMs))
                .check();
        up &= status.up();
        detail.append(detail.length() == 0 ? "" : "; ").append(status.detail());
      }
      return up
          ? HealthCheck.Status.up(detail.toString())
          : HealthCheck.Status.down(detail.toString());
    };
  }

  /**
   * The admin API's rules: its bearer secret is {@code gateway.admin.secret}, or else generated on
   * first start into {@code <data>/admin.secret} (owner-only), where the {@code lookalike
   * reembed|models|drop} commands read it.
   */
  private static AdminGuard adminGuard(Path data, GatewayConfig config) throws IOException {
    String secret = config.adminSecret();
    if (secret.isEmpty()) {
      secret = SecretFile.readOrCreate(data.resolve(ADMIN_SECRET_FILE));
    }
    return new AdminGuard(secret, config.allowedHosts());
  }

  private Map<String, Object> stageConfig(Path data, Map<String, Object> extra) {
    Map<String, Object> config = new HashMap<>(options.overrides());
    config.put("bootstrap.servers", kafka.bootstrapServers());
    config.put("state.dir", data.resolve("streams").toString());
    // One produce request in flight per broker connection. With transactions v2 the first write of
    // a transaction
    // to a partition is verified with the coordinator, which answers CONCURRENT_TRANSACTIONS while
    // the previous
    // commit completes; a second batch already in flight then reaches a partition with no state for
    // the producer
    // and the broker logs OutOfOrderSequenceException at ERROR (the client retries; harmless,
    // alarming). With one
    // request in flight nothing overtakes the retried batch. One broker, CPU-bound embedding: no
    // loss of speed.
    config.putIfAbsent(
        StreamsConfig.producerPrefix(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION), 1);
    // One id per data directory (it has one owner): restarted after kill -9, the local mode takes
    // its dead self's place in the fetcher's, the embedders' and the indexers' groups at once,
    // instead of each waiting session.timeout.ms (45 s) for the dead member.
    StageCommands.staticMember(config, data);
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

  /** The thumbnail feeder's settings: the broker, and the schema registry keys set. */
  private static Map<String, Object> feederSettings(
      String bootstrapServers, Map<String, ?> overrides) {
    Map<String, Object> settings = new HashMap<>();
    overrides.forEach(
        (key, value) -> {
          if (SchemaRegistryConfig.CONFIG_DEF.names().contains(key)) {
            settings.put(key, value);
          }
        });
    settings.put("bootstrap.servers", bootstrapServers);
    return settings;
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
    return eventProducer(bootstrapServers, Serdes.productEvent().serializer());
  }

  /** A producer of product events written by {@code values} (e.g. a ProductEventEncoder's). */
  static KafkaProducer<String, ProductEvent> eventProducer(
      String bootstrapServers,
      org.apache.kafka.common.serialization.Serializer<ProductEvent> values) {
    Map<String, Object> props = new HashMap<>();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    // A broker lost mid-load fails the remaining lines in seconds, not a minute each.
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000);
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
    return new KafkaProducer<>(props, new StringSerializer(), values);
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

  /** The active model's embedder. */
  public Embedder embedder() {
    return pipelines.active().embedder();
  }

  /** The active model's index. */
  public VectorStore store() {
    return pipelines.active().store();
  }

  /** The active model's embedder app. */
  public EmbedderApp embedderApp() {
    return pipelines.pipeline(pipelines.active().modelId()).app();
  }

  /** Every registered model's pipeline and the active pointer. */
  public ModelPipelines pipelines() {
    return pipelines;
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  private <T extends AutoCloseable> T remember(T resource) {
    return started.remember(resource);
  }

  /** Stops the stages in the reverse order of their start. */
  @Override
  public void close() {
    started.close();
  }
}
