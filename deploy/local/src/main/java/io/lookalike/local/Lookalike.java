package io.lookalike.local;

import io.lookalike.ingest.CatalogFileLoader;
import io.lookalike.ingest.KafkaReachability;
import io.lookalike.ingest.ProductEventEncoder;
import io.lookalike.schemas.DataDirLock;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code lookalike} command line: one entry point for the project's operator commands. */
@Command(
    name = "lookalike",
    mixinStandardHelpOptions = true,
    version = "lookalike 0.1.0",
    description = "Kafka-fed reverse image search for e-commerce.",
    subcommands = {
      Lookalike.Local.class,
      Lookalike.Load.class,
      ModelCommands.Reembed.class,
      ModelCommands.Models.class,
      ModelCommands.Drop.class,
      TrainCommand.class,
      StageCommands.Fetcher.class,
      StageCommands.Webhook.class,
      StageCommands.Embedder.class,
      StageCommands.Indexer.class,
      StageCommands.Gateway.class,
      ConfigReference.Print.class,
      CommandLine.HelpCommand.class
    })
public final class Lookalike {

  public static void main(String[] args) {
    // DJL phones home (169.254.169.254) at start-up unless told not to; set before any DJL class
    // loads.
    System.setProperty("ai.djl.offline", "true");
    System.exit(commandLine(java.util.Arrays.asList(args).contains("--verbose")).execute(args));
  }

  /**
   * The command line, reporting a failure in one line per problem (with the stack trace if {@code
   * verbose}).
   */
  static CommandLine commandLine(boolean verbose) {
    return new CommandLine(new Lookalike())
        .setExecutionExceptionHandler(new StartupErrors(verbose));
  }

  @Option(
      names = "--verbose",
      scope = CommandLine.ScopeType.INHERIT,
      description = "On a failure, print the stack trace too (default: one line per problem).")
  boolean verbose;

  @Command(
      name = "local",
      mixinStandardHelpOptions = true,
      description = {
        "Runs everything in this JVM: a Kafka broker (KRaft), the image fetcher, the embedder on CPU,",
        "an embedded Lucene index and the query gateway with its web page. Loads a sample catalog on first start."
      })
  static final class Local implements Callable<Integer> {
    @Option(
        names = "--data-dir",
        defaultValue = "data",
        description = "Where the broker, the index and the state live (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(
        names = "--port",
        defaultValue = "8080",
        description = "Gateway HTTP port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(
        names = "--bind",
        defaultValue = "127.0.0.1",
        description =
            "Gateway bind address; 0.0.0.0 to serve other machines (default: ${DEFAULT-VALUE}).")
    String bind;

    @Option(
        names = "--kafka-port",
        defaultValue = "9092",
        description = "Port of the in-process broker (default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(
        names = "--controller-port",
        defaultValue = "9093",
        description = "Port of the in-process KRaft controller (default: ${DEFAULT-VALUE}).")
    int controllerPort;

    @Option(
        names = "--model",
        description = {
          "TorchScript model URL or path (default: the bundled MobileNetV2 features model).",
          "Used on first start; later starts serve the models in <data-dir>/models.json: switch with `lookalike reembed`."
        })
    String model;

    @Option(
        names = "--partitions",
        defaultValue = "2",
        description = "Partitions of the pipeline's topics (default: ${DEFAULT-VALUE}).")
    int partitions;

    // Named for the positive form: picocli gives a negatable option named --no-sample the value
    // true when
    // --no-sample is given, which loaded the sample exactly when asked not to.
    @Option(
        names = "--sample",
        negatable = true,
        defaultValue = "true",
        fallbackValue = "true",
        description =
            "Load the bundled sample catalog on first start (default: yes; --no-sample to skip).")
    boolean sample;

    @Option(
        names = "-D",
        mapFallbackValue = "",
        description = "Extra setting for the stages, e.g. -Dembed.batch.max.size=16.")
    Map<String, String> settings = new HashMap<>();

    @Override
    public Integer call() throws Exception {
      // The data directory's owner first: a second instance on the same directory must hear that it
      // is
      // in use (and by which PID), not that the first instance's ports are taken. LocalMode.start
      // takes
      // the lock for good; this only asks, and touches nothing of a running owner's.
      DataDirLock.acquire(dataDir).close();
      PortCheck.requireFree(
          List.of(
              new PortCheck.Port("--port", bind, port),
              new PortCheck.Port("--kafka-port", "localhost", kafkaPort),
              new PortCheck.Port("--controller-port", "localhost", controllerPort)));
      if (System.getenv("DJL_CACHE_DIR") == null && System.getProperty("DJL_CACHE_DIR") == null) {
        System.setProperty("DJL_CACHE_DIR", dataDir.toAbsolutePath().resolve("djl").toString());
      }
      ConfigCatalog.warnAboutUnknown(settings);
      ConfigCatalog.validate(settings);
      Map<String, Object> overrides = new HashMap<>(settings);
      LocalMode local =
          new LocalMode(
              new LocalMode.Options(
                  dataDir,
                  "localhost",
                  kafkaPort,
                  controllerPort,
                  port,
                  bind,
                  model,
                  partitions,
                  sample,
                  overrides));
      Resources running = new Resources(org.slf4j.LoggerFactory.getLogger(LocalMode.class));
      running.remember(local);
      running.closeOnShutdown(
          "lookalike-shutdown", () -> System.out.println("Stopping Lookalike…"));
      try {
        local.start();
      } catch (Exception e) {
        running.close();
        throw e;
      }
      System.out.println();
      System.out.println(
          "Lookalike is running: "
              + local.gatewayUrl()
              + "   (Kafka on "
              + local.bootstrapServers()
              + ", Ctrl-C to stop)");
      System.out.println();
      running.awaitShutdown();
      return 0;
    }
  }

  @Command(
      name = "load",
      mixinStandardHelpOptions = true,
      description = {
        "Publishes the products of a JSON Lines (.jsonl) or CSV (.csv) catalog file as product events.",
        "A line without a version gets its occurredAt in epoch ms (docs/producing.md, the version rule)."
      })
  static final class Load implements Callable<Integer> {
    @Parameters(
        paramLabel = "FILE",
        description = "The catalog file; relative image paths are resolved against its directory.")
    Path file;

    @Option(
        names = {"-b", "--bootstrap-servers"},
        defaultValue = "localhost:9092",
        description = "Kafka (default: ${DEFAULT-VALUE}).")
    String bootstrapServers;

    @Option(
        names = "--topic",
        defaultValue = Topics.DEFAULT_PRODUCT_EVENTS,
        description = "Topic (default: ${DEFAULT-VALUE}).")
    String topic;

    @Option(
        names = "--allow-file-urls",
        defaultValue = "true",
        arity = "1",
        description = {
          "Whether image paths and file: URLs are accepted (image.fetch.allow.file; default: ${DEFAULT-VALUE},",
          "as the local mode's fetcher reads them). Pass false for a shared fetcher: such lines are refused here."
        })
    boolean allowFileUrls;

    @Option(
        names = "-D",
        mapFallbackValue = "",
        description = {
          "A writer setting: the schema registry's keys (docs/producing.md), e.g. -Dschema.registry.url=URL",
          "-Dvalue.format=confluent to write the Confluent wire format (default: Avro single-object encoding)."
        })
    Map<String, String> settings = new HashMap<>();

    @Override
    public Integer call() throws Exception {
      // The lookalike script changes to the repository first; a relative FILE is the caller's.
      Path catalog = callerDirectory().resolve(file).normalize();
      if (!Files.isReadable(catalog)) {
        System.err.println("Cannot read the catalog file " + catalog);
        return 1;
      }
      ProductEventEncoder encoder;
      try {
        encoder = ProductEventEncoder.from(new SchemaRegistryConfig(settings), topic);
      } catch (org.apache.kafka.common.config.ConfigException e) {
        System.err.println(e.getMessage());
        return 1;
      }
      // The client's own WARN per reconnect attempt would bury the one line that says what to do.
      ch.qos.logback.classic.Logger network =
          (ch.qos.logback.classic.Logger)
              org.slf4j.LoggerFactory.getLogger("org.apache.kafka.clients.NetworkClient");
      ch.qos.logback.classic.Level level = network.getLevel();
      network.setLevel(ch.qos.logback.classic.Level.ERROR);
      try {
        KafkaReachability.check(
            bootstrapServers,
            KafkaReachability.DEFAULT_TIMEOUT,
            "is `./lookalike local` running? Otherwise pass --bootstrap-servers");
      } catch (KafkaReachability.UnreachableException e) {
        System.err.println(e.getMessage());
        return 1;
      } finally {
        network.setLevel(level);
      }
      try {
        encoder.register(); // once, with the registry's reason, not once per line
      } catch (java.io.IOException e) {
        System.err.println(e.getMessage());
        return 1;
      }
      try (KafkaProducer<String, ProductEvent> producer =
          LocalMode.eventProducer(bootstrapServers, encoder.serializer())) {
        var result = CatalogFileLoader.load(catalog, producer, topic, true, allowFileUrls);
        System.out.println(describe(result, topic));
        if (result.token() != null) {
          // Read your writes: GET /v1/status?token=..., or search with consistentWith=...
          System.out.println("Token: " + result.token());
        }
        return result.invalid() == 0 ? 0 : 2;
      }
    }

    /**
     * For people: "Published 47 product events to catalog.product-events; 5 lines were invalid (see
     * above)."
     */
    static String describe(CatalogFileLoader.Result result, String topic) {
      String published = "Published " + count(result.published(), "product event") + " to " + topic;
      return result.invalid() == 0
          ? published + "; every line was valid."
          : published
              + "; "
              + (result.invalid() == 1 ? "1 line was" : result.invalid() + " lines were")
              + " invalid and skipped (see the warnings above).";
    }

    private static String count(long n, String noun) {
      return n + " " + noun + (n == 1 ? "" : "s");
    }

    /**
     * Where the user ran the command: {@code lookalike.cwd} (set by the lookalike script), else the
     * JVM's.
     */
    static Path callerDirectory() {
      String cwd = System.getProperty("lookalike.cwd");
      return Path.of(cwd == null || cwd.isBlank() ? "." : cwd).toAbsolutePath();
    }
  }
}
