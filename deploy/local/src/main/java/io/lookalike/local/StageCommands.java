package io.lookalike.local;

import com.sun.net.httpserver.HttpServer;
import io.lookalike.embedder.EmbedderApp;
import io.lookalike.gateway.ActiveModel;
import io.lookalike.gateway.AliasFollower;
import io.lookalike.gateway.GatewayConfig;
import io.lookalike.gateway.GatewayServer;
import io.lookalike.gateway.HealthCheck;
import io.lookalike.gateway.HealthConfig;
import io.lookalike.gateway.PhotoValidator;
import io.lookalike.gateway.SearchService;
import io.lookalike.gateway.StageHealth;
import io.lookalike.gateway.StoreChangeStatus;
import io.lookalike.gateway.ThumbnailFeeder;
import io.lookalike.gateway.Thumbnails;
import io.lookalike.gateway.UrlFetcher;
import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.indexer.EmbeddingSink;
import io.lookalike.ingest.FetcherApp;
import io.lookalike.ingest.FetcherConfig;
import io.lookalike.ingest.KafkaReachability;
import io.lookalike.ingest.webhook.WebhookConfig;
import io.lookalike.ingest.webhook.WebhookReceiver;
import io.lookalike.ingest.webhook.WebhookServer;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.schemas.DataDirLock;
import io.lookalike.schemas.FreeSpace;
import io.lookalike.schemas.GroupInstanceId;
import io.lookalike.schemas.GroupProgress;
import io.lookalike.schemas.StreamsApp;
import io.lookalike.schemas.TopicAdmin;
import io.lookalike.schemas.Topics;
import io.lookalike.store.VectorStore;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusVectorStore;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The distributed mode's launchers: each stage of the pipeline in a process of its own, against an
 * existing Kafka cluster ({@code lookalike fetcher|webhook|embedder|indexer|gateway}). Each blocks
 * until Ctrl-C (or SIGTERM) and then stops its stage cleanly.
 */
public final class StageCommands {

  private static final Logger log = LoggerFactory.getLogger(StageCommands.class);
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  private StageCommands() {}

  /** The options every stage takes. */
  static final class Common {
    @Option(
        names = {"-b", "--bootstrap-servers"},
        defaultValue = "${env:LOOKALIKE_BOOTSTRAP_SERVERS:-localhost:9092}",
        description = "Kafka brokers (default: ${DEFAULT-VALUE}; env LOOKALIKE_BOOTSTRAP_SERVERS).")
    String bootstrapServers;

    @Option(
        names = "-D",
        mapFallbackValue = "",
        description =
            "A setting of the stage, e.g. -Dembed.batch.max.size=64 or -Dmilvus.uri=http://milvus:19530.")
    Map<String, String> settings = new HashMap<>();

    @Option(
        names = "--create-topics",
        negatable = true,
        defaultValue = "true",
        fallbackValue = "true",
        description = "Create the pipeline's topics when missing (default: yes).")
    boolean createTopics;

    @Option(
        names = "--partitions",
        defaultValue = "6",
        description =
            "Partitions of topics this stage creates: the most instances of a stage that share work "
                + "(default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(
        names = "--replication-factor",
        defaultValue = "3",
        description =
            "Replication of topics this stage creates (default: ${DEFAULT-VALUE}; 1 for a one-broker cluster).")
    short replication;

    private boolean checked;

    Map<String, Object> config() {
      if (!checked) {
        checked = true;
        ConfigCatalog.warnAboutUnknown(settings);
        ConfigCatalog.validate(settings);
      }
      Map<String, Object> config = new HashMap<>(settings);
      config.put("bootstrap.servers", bootstrapServers);
      return config;
    }

    Topics topics() {
      return Topics.from(settings);
    }

    /** The rules of the stage's /health (and its start-up free-space check). */
    HealthConfig health() {
      return new HealthConfig(settings);
    }

    /** The stage's settings an Admin client reads: with security.protocol, sasl.*, ssl.*. */
    Map<String, Object> adminConfig() {
      Map<String, Object> adminConfig = new HashMap<>();
      config()
          .forEach(
              (key, value) -> {
                if (AdminClientConfig.configNames().contains(key)) {
                  adminConfig.put(key, value);
                }
              });
      return adminConfig;
    }

    void ensureTopics(String... modelIds) throws InterruptedException {
      if (!createTopics) {
        return;
      }
      try (Admin admin = Admin.create(adminConfig())) {
        TopicAdmin.ensureTopics(admin, topics(), partitions, replication, modelIds);
      }
    }
  }

  /** Options of the stages that have no HTTP server of their own. */
  static final class Metrics {
    @Option(
        names = "--metrics-port",
        defaultValue = "9400",
        description =
            "Port of GET /metrics (Prometheus) and GET /health (200 or 503); 0: none (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(
        names = "--metrics-bind",
        defaultValue = "0.0.0.0",
        description = "Address of that port (default: ${DEFAULT-VALUE}).")
    String bind;
  }

  @Command(
      name = "fetcher",
      mixinStandardHelpOptions = true,
      description =
          "Runs the image fetcher (catalog.product-events -> catalog.product-images) against a Kafka cluster.")
  public static final class Fetcher implements Callable<Integer> {
    @Mixin Common common;
    @Mixin Metrics metrics;

    @Override
    public Integer call() throws Exception {
      return runStage(
          "fetcher",
          metrics,
          (registry, stage, health) -> {
            common.ensureTopics();
            FetcherApp app = stage.remember(new FetcherApp(common.config(), registry));
            // Its input offsets are committed while a fetch is still in flight (the event waits in
            // the changelogged pending store), so the work left counts both topics it reads and
            // the images being fetched: a download that hangs is a lag that stands still.
            addStreamsChecks(
                health,
                app.app(),
                List.of(common.topics().productEvents(), app.repartitionTopic()),
                () -> {
                  var inFlight = registry.find("lookalike.fetcher.images.in.flight").gauge();
                  return inFlight == null ? 0 : (long) inFlight.value();
                },
                common,
                stage);
            app.start();
          });
    }
  }

  @Command(
      name = "webhook",
      mixinStandardHelpOptions = true,
      description = {
        "Runs the catalog webhook on its own: POST /v1/events -> catalog.product-events, 202 once Kafka has it.",
        "Settings: -Dwebhook.port=8081, -Dwebhook.auth=bearer|hmac|none, -Dwebhook.secret=... (see WebhookConfig)."
      })
  public static final class Webhook implements Callable<Integer> {
    @Mixin Common common;
    @Mixin Metrics metrics;

    @Override
    public Integer call() throws Exception {
      WebhookConfig config = new WebhookConfig(common.config());
      PortCheck.requireFree(
          List.of(
              new PortCheck.Port(
                  WebhookConfig.PORT_CONFIG,
                  config.getString(WebhookConfig.HOST_CONFIG),
                  config.getInt(WebhookConfig.PORT_CONFIG))));
      try {
        // Before the port opens: a broker that is not there is one line now, not a 503 on every
        // request.
        KafkaReachability.check(
            String.join(",", config.getList(WebhookConfig.BOOTSTRAP_SERVERS_CONFIG)),
            KafkaReachability.DEFAULT_TIMEOUT,
            "check --bootstrap-servers");
      } catch (KafkaReachability.UnreachableException e) {
        System.err.println(e.getMessage());
        return 1;
      }
      return runStage(
          "webhook",
          metrics,
          (registry, stage, health) -> {
            common.ensureTopics();
            WebhookServer server =
                stage.remember(new WebhookServer(config, new WebhookReceiver(config, registry)));
            int port = server.start();
            System.out.println("Lookalike webhook on port " + port + " (POST /v1/events)");
            // No data directory and no input topic: nothing to fill up, no lag to stand still.
            health.add("webhook", () -> HealthCheck.Status.up("listening on port " + port));
          });
    }
  }

  @Command(
      name = "embedder",
      mixinStandardHelpOptions = true,
      description = {
        "Runs the embedder of one model (catalog.product-images -> catalog.image-embeddings.<modelId>);",
        "on a GPU node when DJL finds CUDA. Run one per model; instances of one model share its partitions."
      })
  public static final class Embedder implements Callable<Integer> {
    @Mixin Common common;
    @Mixin Metrics metrics;

    @Option(
        names = "--model",
        description =
            "TorchScript model URL or path (default: the bundled MobileNetV2 features model).")
    String model;

    @Override
    public Integer call() throws Exception {
      return runStage(
          "embedder",
          metrics,
          (registry, stage, health) -> {
            Map<String, Object> config = common.config();
            if (model != null) {
              config.put(EmbeddingModelConfig.URL_CONFIG, model);
            }
            DjlEmbedder embedder =
                stage.remember(
                    config.containsKey(EmbeddingModelConfig.URL_CONFIG)
                        ? DjlEmbedder.load(EmbeddingModelConfig.from(config))
                        : DjlEmbedder.loadDefault());
            String modelId = embedder.model().modelId();
            common.ensureTopics(modelId);
            EmbedderApp app = stage.remember(new EmbedderApp(config, embedder, registry));
            addStreamsChecks(
                health,
                app.app(),
                List.of(common.topics().productImages()),
                () -> 0,
                common,
                stage);
            app.start();
            log.info(
                "Embedding with model {} ({} dimensions)", modelId, embedder.model().dimension());
          });
    }
  }

  @Command(
      name = "indexer",
      mixinStandardHelpOptions = true,
      description = {
        "Runs the indexer of one model without Kafka Connect (catalog.image-embeddings.<modelId> -> store).",
        "With Kafka Connect, install the lookalike-indexer-sink plugin instead (deploy/compose/connect-sink.json)."
      })
  public static final class Indexer implements Callable<Integer> {
    @Mixin Common common;
    @Mixin Metrics metrics;

    @Option(
        names = "--store",
        defaultValue = "milvus",
        description = "milvus or lucene (default: ${DEFAULT-VALUE}).")
    String store;

    @Option(
        names = "--model-id",
        required = true,
        description = "The model whose embeddings to index, e.g. mobilenet_v2_3f9a1c2e.")
    String modelId;

    @Option(names = "--dimension", required = true, description = "Its vector dimension.")
    int dimension;

    @Option(
        names = "--data-dir",
        defaultValue = "data",
        description = "With --store lucene: where the index lives (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(
        names = "--activate",
        description =
            "With --store milvus: point milvus.alias at this model's collection once started.")
    boolean activate;

    @Override
    public Integer call() throws Exception {
      return runStage(
          "indexer",
          metrics,
          (registry, stage, health) -> {
            common.ensureTopics(modelId);
            HealthConfig rules = common.health();
            FreeSpace disk = null;
            if (isLucene(store)) {
              // One writer per index directory, refused with the holder's PID (Lucene's own lock
              // names none).
              stage.remember(DataDirLock.acquire(dataDir.resolve(modelId)));
              disk = new FreeSpace(dataDir.resolve(modelId), rules.minFreeBytes());
              disk.requireRoom(HealthConfig.MIN_FREE_BYTES_CONFIG);
            }
            VectorStore vectors =
                stage.remember(openStore(store, common.settings, dataDir, modelId, dimension));
            if (activate && vectors instanceof MilvusVectorStore milvus) {
              milvus.activate();
            }
            Map<String, Object> sinkConfig = common.config();
            if (isLucene(store)) {
              // The index directory has one owner: its id makes a restarted indexer take its dead
              // self's place in the group at once (a Milvus indexer takes -Dgroup.instance.id).
              staticMember(sinkConfig, dataDir.resolve(modelId));
            }
            EmbeddingSink sink = stage.remember(new EmbeddingSink(sinkConfig, vectors, registry));
            sink.start();
            health.add("indexer", sinkHealth(sink));
            health.addDiskAndProgress(disk, "indexer of " + sink.topic(), sink::lag, null, rules);
          });
    }
  }

  @Command(
      name = "gateway",
      mixinStandardHelpOptions = true,
      description = {
        "Runs the query gateway (HTTP search API and web page).",
        "--store milvus searches the collection behind milvus.alias and follows the alias: when it moves to another",
        "model's collection (lookalike reembed --store milvus), the gateway loads that model (URL from the",
        "collection's property lookalike.model.url) and switches embedder and collection in one step, checked every",
        "-Dgateway.alias.refresh.ms (default 2000). --store lucene keeps an index of its own in",
        "--data-dir, fed from the embeddings topic by a consumer group of its own (one per gateway instance)."
      })
  public static final class Gateway implements Callable<Integer> {
    @Mixin Common common;

    @Option(
        names = "--store",
        defaultValue = "milvus",
        description = "milvus or lucene (default: ${DEFAULT-VALUE}).")
    String store;

    @Option(
        names = "--model",
        description =
            "TorchScript model URL or path: must be the model of the index searched "
                + "(default: the bundled MobileNetV2 features model); with --store milvus, only for collections that name no "
                + "model of their own.")
    String model;

    @Option(
        names = "--port",
        defaultValue = "8080",
        description = "HTTP port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(
        names = "--bind",
        defaultValue = "0.0.0.0",
        description = "Bind address (default: ${DEFAULT-VALUE}).")
    String bind;

    @Option(
        names = "--data-dir",
        defaultValue = "data",
        description =
            "Where result thumbnails are kept and, with --store lucene, "
                + "its index lives (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Override
    public Integer call() throws Exception {
      // before the model loads: a port in use fails now, naming --port
      PortCheck.requireFree(List.of(new PortCheck.Port("--port", bind, port)));
      Resources resources = new Resources(log);
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      try {
        Map<String, Object> config = common.config();
        if (model != null) {
          config.put(EmbeddingModelConfig.URL_CONFIG, model);
        }
        HealthConfig rules = common.health();
        // Thumbnails (and with --store lucene the index) live here.
        FreeSpace disk = new FreeSpace(dataDir, rules.minFreeBytes());
        disk.requireRoom(HealthConfig.MIN_FREE_BYTES_CONFIG);
        Supplier<ActiveModel> active;
        String searching;
        EmbeddingSink sink = null;
        if (isLucene(store)) {
          DjlEmbedder embedder =
              resources.remember(
                  config.containsKey(EmbeddingModelConfig.URL_CONFIG)
                      ? DjlEmbedder.load(EmbeddingModelConfig.from(config))
                      : DjlEmbedder.loadDefault());
          String modelId = embedder.model().modelId();
          common.ensureTopics(modelId);
          resources.remember(DataDirLock.acquire(dataDir.resolve(modelId)));
          VectorStore vectors =
              resources.remember(
                  LuceneVectorStore.open(
                      dataDir.resolve(modelId), modelId, embedder.model().dimension()));
          Map<String, Object> sinkConfig = new HashMap<>(config);
          sinkConfig.putIfAbsent(
              "group.id",
              "lookalike-gateway-" + modelId + "-" + InetAddress.getLocalHost().getHostName());
          staticMember(sinkConfig, dataDir.resolve(modelId));
          sink = resources.remember(new EmbeddingSink(sinkConfig, vectors, registry));
          sink.start();
          ActiveModel fixed = new ActiveModel(embedder, vectors);
          active = () -> fixed;
          searching = vectors.toString();
        } else {
          AliasFollower follower = resources.remember(new AliasFollower(config));
          active = follower;
          searching =
              "Milvus alias "
                  + new MilvusConfig(common.settings).alias()
                  + (follower.get() == null
                      ? " (not there yet: waiting for it"
                      : " (model " + follower.get().modelId())
                  + ", followed every "
                  + new GatewayConfig(config).aliasRefreshMs()
                  + " ms)";
        }
        Map<String, Object> gatewayProps = new HashMap<>(config);
        gatewayProps.keySet().removeAll(HealthConfig.CONFIG_DEF.names());
        gatewayProps.put(GatewayConfig.PORT_CONFIG, Integer.toString(port));
        gatewayProps.put(GatewayConfig.HOST_CONFIG, bind);
        GatewayConfig gatewayConfig = new GatewayConfig(gatewayProps);
        FetcherConfig fetcherConfig = new FetcherConfig(common.settings);
        SearchService search =
            resources.remember(
                new SearchService(
                    active,
                    PhotoValidator.of(ImageNormaliser.from(fetcherConfig)),
                    UrlFetcher.of(ImageDownloader.from(fetcherConfig)),
                    gatewayConfig));
        Thumbnails thumbnails = new Thumbnails(dataDir.resolve("thumbnails"));
        resources.remember(
            new ThumbnailFeeder(config, common.topics().productImages(), thumbnails, registry)
                .start());
        GatewayServer gateway =
            resources.remember(
                new GatewayServer(gatewayConfig, search, registry)
                    .thumbnails(thumbnails)
                    // Read-your-writes from the index itself (on Milvus at STRONG consistency).
                    .changeStatus(new StoreChangeStatus(active)));
        if (active instanceof AliasFollower follower) {
          gateway.addHealthCheck("alias", follower::health);
        }
        if (sink != null) {
          gateway.addHealthCheck("indexer", sinkHealth(sink));
        }
        gateway.addHealthCheck("disk", StageHealth.disk(disk));
        if (sink != null) {
          gateway.addHealthCheck(
              "progress",
              StageHealth.progress(
                  "indexer of " + sink.topic(), sink::lag, null, rules.stuckAfterMs()));
        }
        int bound = gateway.start();
        System.out.println(
            "Lookalike gateway on http://"
                + bind
                + ":"
                + bound
                + "/ searching "
                + searching
                + " (Ctrl-C to stop)");
        awaitShutdown("gateway", resources);
        return 0;
      } catch (Exception e) {
        resources.close();
        throw e;
      }
    }
  }

  static boolean isLucene(String store) {
    if (!store.equalsIgnoreCase("lucene") && !store.equalsIgnoreCase("milvus")) {
      throw new IllegalArgumentException("--store must be milvus or lucene, not " + store);
    }
    return store.equalsIgnoreCase("lucene");
  }

  static VectorStore openStore(
      String store, Map<String, String> settings, Path dataDir, String modelId, int dimension) {
    return isLucene(store)
        ? LuceneVectorStore.open(dataDir.resolve(modelId), modelId, dimension)
        : MilvusVectorStore.open(new MilvusConfig(settings), modelId, dimension);
  }

  // --- running a stage until Ctrl-C ---

  interface StageStarter {
    /** Starts the stage and adds its checks to {@code health}. */
    void start(PrometheusMeterRegistry registry, Resources stage, StageHealth health)
        throws Exception;
  }

  static int runStage(String name, Metrics metrics, StageStarter starter) throws Exception {
    if (metrics.port > 0) {
      PortCheck.requireFree(
          List.of(new PortCheck.Port("--metrics-port", metrics.bind, metrics.port)));
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Resources stage = new Resources(log);
    try {
      StageHealth health = new StageHealth();
      starter.start(registry, stage, health);
      if (metrics.port > 0) {
        HttpServer server = HttpServer.create(new InetSocketAddress(metrics.bind, metrics.port), 0);
        server.createContext(
            "/metrics",
            exchange ->
                respond(
                    exchange, 200, registry.scrape(), "text/plain; version=0.0.4; charset=utf-8"));
        server.createContext(
            "/health",
            exchange -> {
              Map<String, HealthCheck.Status> checks = health.checkAll();
              HealthCheck.Status status = StageHealth.overall(checks);
              respond(
                  exchange,
                  status.up() ? 200 : 503,
                  healthJson(status, checks),
                  "application/json");
            });
        server.start();
        stage.remember(() -> server.stop(1));
        log.info(
            "{}: metrics and health on http://{}:{}/",
            name,
            metrics.bind,
            server.getAddress().getPort());
      }
      System.out.println("Lookalike " + name + " running (Ctrl-C to stop)");
      awaitShutdown(name, stage);
      return 0;
    } catch (Exception e) {
      stage.close();
      throw e;
    }
  }

  /**
   * {@code
   * {"status":"UP|DEGRADED|DOWN","detail":"...","checks":{"disk":{"status":..,"detail":..},..}}}:
   * the gateway's shape.
   */
  static String healthJson(HealthCheck.Status status, Map<String, HealthCheck.Status> checks) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", status.word());
    body.put("detail", status.detail());
    Map<String, Object> each = new LinkedHashMap<>();
    checks.forEach(
        (name, check) ->
            each.put(
                name,
                Map.of(
                    "status",
                    check.word(),
                    "detail",
                    check.detail() == null ? "" : check.detail())));
    body.put("checks", each);
    try {
      return JSON.writeValueAsString(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A Streams stage's checks: its state ({@link #streamsHealth}), the free space of its state
   * directory (refused at start below the floor), and the work it has left — its lag on {@code
   * inputTopics} (its application id's committed offsets) plus {@code inHand}, what it holds past
   * those offsets — which may not stand still while it is not restoring.
   */
  static void addStreamsChecks(
      StageHealth health,
      StreamsApp app,
      List<String> inputTopics,
      java.util.function.LongSupplier inHand,
      Common common,
      Resources stage) {
    HealthConfig rules = common.health();
    FreeSpace disk = new FreeSpace(app.stateDir(), rules.minFreeBytes());
    disk.requireRoom(HealthConfig.MIN_FREE_BYTES_CONFIG);
    Admin admin = stage.remember(Admin.create(common.adminConfig()));
    health.add("streams", streamsHealth(app));
    health.addDiskAndProgress(
        disk,
        app.applicationId() + " on " + String.join(", ", inputTopics),
        () -> {
          long lag = 0;
          for (String topic : inputTopics) {
            long topicLag = groupLag(admin, topic, app.applicationId());
            if (topicLag < 0) {
              return -1;
            }
            lag += topicLag;
          }
          return lag + inHand.getAsLong();
        },
        () -> app.restoring().isPresent(),
        rules);
  }

  /** Records of {@code topic} the group has not committed past; -1 when that cannot be read. */
  static long groupLag(Admin admin, String topic, String group) {
    try {
      return GroupProgress.of(admin, topic, group, Duration.ofSeconds(5)).lag();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    } catch (Exception e) {
      log.debug("Cannot read the lag of {} on {}", group, topic, e);
      return -1;
    }
  }

  static HealthCheck sinkHealth(EmbeddingSink sink) {
    return () -> {
      long lag = sink.lag();
      return lag < 0
          ? HealthCheck.Status.down("cannot read the lag of " + sink.topic())
          : HealthCheck.Status.up("lag " + lag);
    };
  }

  private static void respond(
      com.sun.net.httpserver.HttpExchange exchange, int status, String body, String type)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /**
   * Makes a consumer configured by {@code config} a static group member with the id kept in {@code
   * dir} (a directory this process owns alone), unless {@code group.instance.id} is given; see
   * {@link GroupInstanceId}.
   */
  static void staticMember(Map<String, Object> config, Path dir) {
    if (GroupInstanceId.wanted(config, ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)) {
      config.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, GroupInstanceId.of(dir));
    }
  }

  /**
   * UP while a Kafka Streams app runs or rebalances; DEGRADED (still 200, so that a liveness probe
   * does not restart a restore from scratch) while it restores state from its changelogs, with how
   * far it got; DOWN with its state otherwise.
   */
  static HealthCheck streamsHealth(StreamsApp app) {
    return () -> {
      KafkaStreams.State now = app.state();
      if (!now.isRunningOrRebalancing()) {
        return HealthCheck.Status.down(now.name());
      }
      return app.restoring()
          .map(restoring -> HealthCheck.Status.degraded(now.name() + ", " + restoring))
          .orElseGet(() -> HealthCheck.Status.up(now.name()));
    };
  }

  /** Blocks until the JVM is asked to stop, then closes the stage's resources in reverse order. */
  private static void awaitShutdown(String name, Resources resources) throws InterruptedException {
    resources
        .closeOnShutdown("lookalike-" + name + "-shutdown", () -> log.info("Stopping the {}", name))
        .awaitShutdown();
  }
}
