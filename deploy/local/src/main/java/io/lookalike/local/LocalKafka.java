package io.lookalike.local;

import io.lookalike.schemas.DataDirLock;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker (KRaft, combined broker + controller) inside the local mode's
 * JVM, from Kafka's own server jar. Its log directory survives restarts: the storage is formatted
 * once, on first start, with a cluster id kept beside it.
 */
public final class LocalKafka implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LocalKafka.class);

  private final KafkaRaftServer server;
  private final String bootstrapServers;
  private final DataDirLock lock;

  private LocalKafka(KafkaRaftServer server, String bootstrapServers, DataDirLock lock) {
    this.server = server;
    this.bootstrapServers = bootstrapServers;
    this.lock = lock;
  }

  /**
   * Starts the broker on {@code host:brokerPort}, its controller on {@code controllerPort}, with
   * its data under {@code dir}.
   *
   * @throws DataDirLock.HeldException when another broker owns {@code dir}: Kafka locks its log dir
   *     only after opening (and writing) the raft log, so a second broker would damage the first
   *     one's metadata
   */
  public static LocalKafka start(Path dir, String host, int brokerPort, int controllerPort)
      throws IOException {
    DataDirLock lock = DataDirLock.acquire(dir);
    try {
      return start(dir, host, brokerPort, controllerPort, lock);
    } catch (IOException | RuntimeException e) {
      lock.close();
      throw e;
    }
  }

  private static LocalKafka start(
      Path dir, String host, int brokerPort, int controllerPort, DataDirLock lock)
      throws IOException {
    Path logs = dir.resolve("logs");
    Properties props = new Properties();
    props.put("process.roles", "broker,controller");
    props.put("node.id", "1");
    props.put("controller.quorum.voters", "1@" + host + ":" + controllerPort);
    props.put(
        "listeners",
        "PLAINTEXT://" + host + ":" + brokerPort + ",CONTROLLER://" + host + ":" + controllerPort);
    props.put("advertised.listeners", "PLAINTEXT://" + host + ":" + brokerPort);
    props.put("controller.listener.names", "CONTROLLER");
    props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    props.put("inter.broker.listener.name", "PLAINTEXT");
    props.put("log.dirs", logs.toString());
    props.put("num.partitions", "2");
    // One node: without these, consumer groups and exactly-once transactions hang silently.
    props.put("offsets.topic.replication.factor", "1");
    props.put("offsets.topic.num.partitions", "4");
    props.put("transaction.state.log.replication.factor", "1");
    props.put("transaction.state.log.min.isr", "1");
    props.put("transaction.state.log.num.partitions", "4");
    props.put("share.coordinator.state.topic.replication.factor", "1");
    props.put("share.coordinator.state.topic.min.isr", "1");
    props.put("group.initial.rebalance.delay.ms", "0");
    // Product-image records hold the photo's bytes.
    props.put("message.max.bytes", Integer.toString(16 * 1024 * 1024));
    props.put("replica.fetch.max.bytes", Integer.toString(16 * 1024 * 1024));
    props.put("log.cleaner.dedupe.buffer.size", Integer.toString(32 * 1024 * 1024));

    if (!Files.exists(logs.resolve("meta.properties"))) {
      format(dir, props);
    }
    KafkaRaftServer server = new KafkaRaftServer(new KafkaConfig(props, false), Time.SYSTEM);
    server.startup();
    String bootstrap = host + ":" + brokerPort;
    log.info("Kafka broker (KRaft, in-process) listening on {}, data in {}", bootstrap, logs);
    return new LocalKafka(server, bootstrap, lock);
  }

  private static void format(Path dir, Properties props) throws IOException {
    Path clusterIdFile = dir.resolve("cluster.id");
    String clusterId =
        Files.exists(clusterIdFile)
            ? Files.readString(clusterIdFile).trim()
            : Uuid.randomUuid().toString();
    Files.writeString(clusterIdFile, clusterId);
    Path configFile = dir.resolve("server.properties");
    try (var out = Files.newBufferedWriter(configFile)) {
      props.store(out, "Lookalike local mode broker");
    }
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    // Transactions v2 (KIP-890): the broker verifies every transactional write with the coordinator
    // and bumps
    // the producer epoch at each commit, so a write of a crashed or stalled producer cannot leave a
    // hanging
    // transaction that blocks read_committed consumers (seen with v1 after a full disk: four, until
    // aborted by hand).
    int rc =
        StorageTool.execute(
            new String[] {
              "format",
              "-t",
              clusterId,
              "-c",
              configFile.toString(),
              "--feature",
              "transaction.version=2"
            },
            new PrintStream(output, true, StandardCharsets.UTF_8));
    if (rc != 0) {
      throw new IOException(
          "Could not format Kafka storage in "
              + dir
              + ": "
              + output.toString(StandardCharsets.UTF_8));
    }
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  @Override
  public void close() {
    try {
      server.shutdown();
      server.awaitShutdown();
    } finally {
      lock.close();
    }
  }
}
