package io.lookalike.testkit;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real Kafka cluster in the test JVM, from Kafka's own test runtime: by default a single node
 * (combined KRaft broker + controller, ~1.5 s to start) with settings for one node so that consumer
 * groups and exactly-once transactions work; or, with {@link #startCluster(int)}, several brokers
 * beside one controller, each of which can be stopped and started again.
 */
public final class KafkaBroker implements AutoCloseable {

  private final KafkaClusterTestKit cluster;
  private final short replication;
  private boolean closed;

  private KafkaBroker(KafkaClusterTestKit cluster, short replication) {
    this.cluster = cluster;
    this.replication = replication;
  }

  /**
   * {@code brokers} brokers and one KRaft controller (apart, so that stopping a broker leaves the
   * quorum alone), every topic replicated to {@code min(3, brokers)} brokers with {@code
   * min.insync.replicas} one less (at least 1): the internal topics too, so that a broker may go
   * away without stopping consumer groups or transactions.
   */
  public static KafkaBroker startCluster(int brokers) {
    int replicas = Math.min(3, brokers);
    String minIsr = Integer.toString(Math.max(1, replicas - 1));
    try {
      KafkaClusterTestKit cluster =
          new KafkaClusterTestKit.Builder(
                  new TestKitNodes.Builder()
                      .setCombined(false)
                      .setNumBrokerNodes(brokers)
                      .setNumControllerNodes(1)
                      .build())
              .setConfigProp("default.replication.factor", Integer.toString(replicas))
              .setConfigProp("min.insync.replicas", minIsr)
              .setConfigProp("offsets.topic.replication.factor", Integer.toString(replicas))
              .setConfigProp("offsets.topic.num.partitions", "4")
              .setConfigProp("transaction.state.log.replication.factor", Integer.toString(replicas))
              .setConfigProp("transaction.state.log.min.isr", minIsr)
              .setConfigProp("transaction.state.log.num.partitions", "4")
              .setConfigProp("group.initial.rebalance.delay.ms", "0")
              .setConfigProp("message.max.bytes", Integer.toString(16 * 1024 * 1024))
              .setConfigProp("replica.fetch.max.bytes", Integer.toString(16 * 1024 * 1024))
              .build();
      cluster.format();
      cluster.startup();
      cluster.waitForReadyBrokers();
      return new KafkaBroker(cluster, (short) replicas);
    } catch (Exception e) {
      throw new IllegalStateException("Could not start the in-process Kafka cluster", e);
    }
  }

  public static KafkaBroker start() {
    try {
      KafkaClusterTestKit cluster =
          new KafkaClusterTestKit.Builder(
                  new TestKitNodes.Builder()
                      .setCombined(true)
                      .setNumBrokerNodes(1)
                      .setNumControllerNodes(1)
                      .build())
              .setConfigProp("offsets.topic.replication.factor", "1")
              .setConfigProp("offsets.topic.num.partitions", "4")
              .setConfigProp("transaction.state.log.replication.factor", "1")
              .setConfigProp("transaction.state.log.min.isr", "1")
              .setConfigProp("transaction.state.log.num.partitions", "4")
              .setConfigProp("group.initial.rebalance.delay.ms", "0")
              .setConfigProp("message.max.bytes", Integer.toString(16 * 1024 * 1024))
              .build();
      cluster.format();
      cluster.startup();
      cluster.waitForReadyBrokers();
      return new KafkaBroker(cluster, (short) 1);
    } catch (Exception e) {
      throw new IllegalStateException("Could not start the in-process Kafka broker", e);
    }
  }

  public String bootstrapServers() {
    return cluster.bootstrapServers();
  }

  /** The ids of the brokers, running or stopped. */
  public java.util.Set<Integer> brokerIds() {
    return new java.util.TreeSet<>(cluster.brokers().keySet());
  }

  /** How many brokers each topic this class creates is replicated to. */
  public short replicationFactor() {
    return replication;
  }

  /**
   * Stops one broker (its clients see it go away; a JVM cannot kill -9 a broker it hosts): its
   * partitions' leadership moves to the others, and it keeps its log directory for {@link
   * #startBroker(int)}.
   */
  public void stopBroker(int id) {
    broker(id).shutdown();
  }

  /** Starts a broker stopped by {@link #stopBroker(int)} again, on its log directory. */
  public void startBroker(int id) {
    broker(id).startup();
  }

  private kafka.server.BrokerServer broker(int id) {
    kafka.server.BrokerServer broker = cluster.brokers().get(id);
    if (broker == null) {
      throw new IllegalArgumentException("No broker " + id + ": " + brokerIds());
    }
    return broker;
  }

  public Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()));
  }

  /** Creates delete-policy topics (ignores ones that exist). */
  public void createTopics(int partitions, String... names) {
    create(partitions, Map.of(), names);
  }

  /** Creates compacted topics (ignores ones that exist). */
  public void createCompactedTopics(int partitions, String... names) {
    create(
        partitions,
        Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT),
        names);
  }

  private void create(int partitions, Map<String, String> configs, String... names) {
    try (Admin admin = admin()) {
      List<NewTopic> topics =
          Arrays.stream(names)
              .map(n -> new NewTopic(n, partitions, replication).configs(configs))
              .toList();
      for (var f : admin.createTopics(topics).values().values()) {
        try {
          f.get();
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
        }
      }
    } catch (Exception e) {
      throw new IllegalStateException("Could not create topics " + Arrays.toString(names), e);
    }
  }

  /** Base properties for clients of this broker. */
  public Properties clientProperties() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    return props;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return; // KafkaClusterTestKit throws when closed twice
    }
    closed = true;
    try {
      cluster.close();
    } catch (Exception e) {
      throw new IllegalStateException("Could not stop the in-process Kafka broker", e);
    }
  }

  public static Duration defaultTimeout() {
    return Duration.ofSeconds(60);
  }
}
