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
 * A real single-node Kafka broker (combined KRaft broker + controller) in the test JVM, from
 * Kafka's own test runtime. Starts in ~1.5 s; settings for a single node so that consumer groups
 * and exactly-once transactions work.
 */
public final class KafkaBroker implements AutoCloseable {

  private final KafkaClusterTestKit cluster;
  private boolean closed;

  private KafkaBroker(KafkaClusterTestKit cluster) {
    this.cluster = cluster;
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
      return new KafkaBroker(cluster);
    } catch (Exception e) {
      throw new IllegalStateException("Could not start the in-process Kafka broker", e);
    }
  }

  public String bootstrapServers() {
    return cluster.bootstrapServers();
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
              .map(n -> new NewTopic(n, partitions, (short) 1).configs(configs))
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
