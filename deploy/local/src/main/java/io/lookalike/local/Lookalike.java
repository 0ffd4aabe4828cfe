package io.lookalike.local;

import io.lookalike.ingest.CatalogFileLoader;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Topics;
import io.lookalike.storage.DataDirLock;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
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
        StageCommands.Fetcher.class,
        StageCommands.Webhook.class,
        StageCommands.Embedder.class,
        StageCommands.Indexer.class,
        StageCommands.Gateway.class,
        CommandLine.HelpCommand.class})
public final class Lookalike {

  public static void main(String[] args) {
    // DJL phones home (169.254.169.254) at start-up unless told not to; set before any DJL class loads.
    System.setProperty("ai.djl.offline", "true");
    System.exit(commandLine().execute(args));
  }

  /** The command line, with the one-line answer to a data directory in use by another process. */
  static CommandLine commandLine() {
    return new CommandLine(new Lookalike()).setExecutionExceptionHandler((e, cmd, parsed) -> {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof DataDirLock.HeldException held) {
          cmd.getErr().println(held.getMessage());
          return DataDirLock.HeldException.EXIT_CODE;
        }
      }
      e.printStackTrace(cmd.getErr());
      return cmd.getCommandSpec().exitCodeOnExecutionException();
    });
  }

  @Command(name = "local", mixinStandardHelpOptions = true,
      description = {"Runs everything in this JVM: a Kafka broker (KRaft), the image fetcher, the embedder on CPU,",
          "an embedded Lucene index and the query gateway with its web page. Loads a sample catalog on first start."})
  static final class Local implements Callable<Integer> {
    @Option(names = "--data-dir", defaultValue = "data", description = "Where the broker, the index and the state live (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--port", defaultValue = "8080", description = "Gateway HTTP port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Gateway bind address; 0.0.0.0 to serve other machines (default: ${DEFAULT-VALUE}).")
    String bind;

    @Option(names = "--kafka-port", defaultValue = "9092", description = "Port of the in-process broker (default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(names = "--controller-port", defaultValue = "9093", description = "Port of the in-process KRaft controller (default: ${DEFAULT-VALUE}).")
    int controllerPort;

    @Option(names = "--model", description = {"TorchScript model URL or path (default: the bundled MobileNetV2 features model).",
        "Used on first start; later starts serve the models in <data-dir>/models.json: switch with `lookalike reembed`."})
    String model;

    @Option(names = "--partitions", defaultValue = "2", description = "Partitions of the pipeline's topics (default: ${DEFAULT-VALUE}).")
    int partitions;

    // Declared as --sample: picocli's negated form of a negatable --no-sample would be --sample, and
    // --no-sample itself would keep the default (true), loading the sample catalog anyway.
    @Option(names = "--sample", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "Load the bundled sample catalog on first start (default: yes; --no-sample to skip).")
    boolean sample;

    @Option(names = "-D", mapFallbackValue = "", description = "Extra setting for the stages, e.g. -Dembed.batch.max.size=16.")
    Map<String, String> settings = new HashMap<>();

    @Override
    public Integer call() throws Exception {
      if (System.getenv("DJL_CACHE_DIR") == null && System.getProperty("DJL_CACHE_DIR") == null) {
        System.setProperty("DJL_CACHE_DIR", dataDir.toAbsolutePath().resolve("djl").toString());
      }
      Map<String, Object> overrides = new HashMap<>(settings);
      LocalMode local = new LocalMode(new LocalMode.Options(dataDir, "localhost", kafkaPort, controllerPort, port, bind,
          model, partitions, sample, overrides));
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        System.out.println("Stopping Lookalike…");
        local.close();
        stopped.countDown();
      }, "lookalike-shutdown"));
      try {
        local.start();
      } catch (Exception e) {
        local.close();
        throw e;
      }
      System.out.println();
      System.out.println("Lookalike is running: " + local.gatewayUrl() + "   (Kafka on " + local.bootstrapServers() + ", Ctrl-C to stop)");
      System.out.println();
      stopped.await();
      return 0;
    }
  }

  @Command(name = "load", mixinStandardHelpOptions = true,
      description = "Publishes the products of a JSON Lines (.jsonl) or CSV (.csv) catalog file as product events.")
  static final class Load implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "The catalog file; relative image paths are resolved against its directory.")
    Path file;

    @Option(names = {"-b", "--bootstrap-servers"}, defaultValue = "localhost:9092", description = "Kafka (default: ${DEFAULT-VALUE}).")
    String bootstrapServers;

    @Option(names = "--topic", defaultValue = Topics.DEFAULT_PRODUCT_EVENTS, description = "Topic (default: ${DEFAULT-VALUE}).")
    String topic;

    @Override
    public Integer call() throws Exception {
      try (KafkaProducer<String, ProductEvent> producer = LocalMode.eventProducer(bootstrapServers)) {
        var result = CatalogFileLoader.load(file, producer, topic, true);
        System.out.println(result);
        return result.invalid() == 0 ? 0 : 2;
      }
    }
  }
}
