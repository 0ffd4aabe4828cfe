package io.lookalike.indexer.connect;

import static io.lookalike.indexer.Embeddings.embedding;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.Serdes;
import io.lookalike.store.ClusteredVectors;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusProtocolDouble;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.StreamSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.converters.ByteArrayConverter;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sink connector in a real Connect worker (Kafka's EmbeddedConnectCluster) on a real broker,
 * writing to Milvus through the SDK's gRPC protocol (a protocol double: {@link
 * MilvusProtocolDouble}; Milvus itself needs Docker, see MilvusVectorStoreContainerIT).
 */
class LookalikeSinkConnectorIT {

  private static final String MODEL = "it_model";
  private static final String TOPIC = "catalog.image-embeddings." + MODEL;
  private static final String DEAD_LETTERS = "catalog.dead-letters";
  private static final String CONNECTOR = "lookalike-sink";
  private static final int DIM = 16;

  private static final String COLLECTION = "it_" + MODEL;

  private static EmbeddedConnectCluster connect;
  private static KafkaProducer<byte[], byte[]> producer;
  private static MilvusProtocolDouble milvus;
  private final ClusteredVectors vectors = new ClusteredVectors(DIM, 4, 0.5f, 17);

  @BeforeAll
  static void startConnect() throws Exception {
    milvus = new MilvusProtocolDouble();
    Properties broker = new Properties();
    broker.put("transaction.state.log.replication.factor", "1");
    broker.put("transaction.state.log.min.isr", "1");
    broker.put("offsets.topic.replication.factor", "1");
    broker.put("group.initial.rebalance.delay.ms", "0");
    Map<String, String> worker = new HashMap<>();
    worker.put("offset.flush.interval.ms", "500"); // how often the sink's offsets are committed
    connect =
        (EmbeddedConnectCluster)
            new EmbeddedConnectCluster.Builder()
                .name("sink-it")
                .numWorkers(1)
                .brokerProps(broker)
                .workerProps(worker)
                .build();
    connect.start();
    connect.kafka().createTopic(TOPIC, 2);
    connect.kafka().createTopic(DEAD_LETTERS, 1);
    producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, connect.kafka().bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
  }

  @AfterAll
  static void stopConnect() throws Exception {
    if (producer != null) {
      producer.close();
    }
    if (connect != null) {
      connect.stop();
    }
    if (milvus != null) {
      milvus.close();
    }
  }

  @Test
  void shouldIndexThroughAConnectWorkerDeadLetterBadRecordsAndSurviveAWorkerRestart()
      throws Exception {
    // Given the connector running on Milvus with Connect's dead-letter queue
    Map<String, String> config = new HashMap<>();
    config.put("connector.class", LookalikeSinkConnector.class.getName());
    config.put("tasks.max", "1");
    config.put("topics", TOPIC);
    config.put("key.converter", ByteArrayConverter.class.getName());
    config.put("value.converter", ByteArrayConverter.class.getName());
    config.put(LookalikeSinkConfig.STORE_CONFIG, "milvus");
    config.put(MilvusConfig.URI_CONFIG, milvus.uri());
    config.put(MilvusConfig.COLLECTION_PREFIX_CONFIG, "it_");
    config.put(MilvusConfig.ALIAS_CONFIG, "it_active");
    config.put("errors.tolerance", "all");
    config.put("errors.deadletterqueue.topic.name", DEAD_LETTERS);
    config.put("errors.deadletterqueue.topic.replication.factor", "1");
    config.put("errors.deadletterqueue.context.headers.enable", "true");
    connect.configureConnector(CONNECTOR, config);
    connect
        .assertions()
        .assertConnectorAndExactlyNumTasksAreRunning(CONNECTOR, 1, "sink did not start");

    // When embeddings, a corrupt record and tombstones arrive
    for (int i = 0; i < 30; i++) {
      send("p" + i + "/0", embedding("p" + i + "/0", MODEL, vectors.next(), 1));
    }
    sendRaw("p100/0", "not avro".getBytes(StandardCharsets.UTF_8));
    send("p0/0", null);
    send("p1/0", null);
    send("p2/0", embedding("p2/0", MODEL, vectors.next(), 2));
    producer.flush();

    // Then the store holds exactly the live images, the corrupt record is in the dead-letter topic,
    // and the offsets are committed
    awaitCaughtUp(28);
    assertThat(hasKey("p0/0")).isFalse();
    ConsumerRecord<byte[], byte[]> dead =
        connect.kafka().consume(1, 30_000, DEAD_LETTERS).iterator().next();
    assertThat(new String(dead.key(), StandardCharsets.UTF_8)).isEqualTo("p100/0");
    assertThat(dead.value()).isEqualTo("not avro".getBytes(StandardCharsets.UTF_8));
    assertThat(header(dead, "__connect.errors.exception.message")).contains("corrupt_record");
    assertThat(header(dead, "__connect.errors.topic")).isEqualTo(TOPIC);
    // and the sink's metrics are the worker's JMX MBeans (Connect plugin metrics)
    // 28 when all 33 records arrive in one put() (the last change per key wins: p0/p1 deleted,
    // p2 written once), up to 31 when they are spread over several; which one is up to the worker
    assertThat(pluginMetric("lookalike-indexer-upserts-count")).isBetween(28.0, 31.0);
    assertThat(pluginMetric("lookalike-indexer-rejected-count")).isEqualTo(1);

    // When the worker goes away, more changes arrive, and a new worker takes over
    connect.removeWorker();
    for (int i = 30; i < 40; i++) {
      send("p" + i + "/0", embedding("p" + i + "/0", MODEL, vectors.next(), 1));
    }
    send("p3/0", null);
    send("p2/0", embedding("p2/0", MODEL, vectors.next(), 1)); // late, older version
    producer.flush();
    connect.addWorker();
    connect
        .assertions()
        .assertConnectorAndExactlyNumTasksAreRunning(CONNECTOR, 1, "sink did not restart");

    // Then nothing is lost or duplicated, and the older version did not win
    awaitCaughtUp(37);
    assertThat(hasKey("p39/0")).isTrue();
    assertThat(hasKey("p3/0")).isFalse();
    assertThat(connect.kafka().consume(1, 5_000, DEAD_LETTERS).count()).isEqualTo(1);
    connect.deleteConnector(CONNECTOR);
  }

  @Test
  void shouldCommitPastTheTransactionMarkersSoThatLagReachesZeroWithoutLosingARecord()
      throws Exception {
    // Given the connector reading a transactional topic read_committed, with brokers to look at
    String topic = "catalog.image-embeddings.tx_model";
    String connector = "lookalike-sink-tx";
    connect.kafka().createTopic(topic, 2);
    Map<String, String> config = new HashMap<>();
    config.put("connector.class", LookalikeSinkConnector.class.getName());
    config.put("tasks.max", "1");
    config.put("topics", topic);
    config.put("key.converter", ByteArrayConverter.class.getName());
    config.put("value.converter", ByteArrayConverter.class.getName());
    config.put("consumer.override.isolation.level", "read_committed");
    config.put(
        LookalikeSinkConfig.LAG_BOOTSTRAP_SERVERS_CONFIG, connect.kafka().bootstrapServers());
    config.put(LookalikeSinkConfig.STORE_CONFIG, "milvus");
    config.put(MilvusConfig.URI_CONFIG, milvus.uri());
    config.put(MilvusConfig.COLLECTION_PREFIX_CONFIG, "it_");
    config.put(MilvusConfig.ALIAS_CONFIG, "it_tx_active");
    connect.configureConnector(connector, config);
    connect
        .assertions()
        .assertConnectorAndExactlyNumTasksAreRunning(connector, 1, "sink did not start");

    try (KafkaProducer<byte[], byte[]> tx =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                connect.kafka().bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG,
                "sink-it-embedder",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
                ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                ByteArraySerializer.class))) {
      tx.initTransactions();
      // When committed transactions arrive, then an aborted one at the end of the log
      int live = 0;
      for (int t = 0; t < 3; t++) {
        tx.beginTransaction();
        for (int i = 0; i < 10; i++) {
          String key = "t" + live++ + "/0";
          tx.send(record(topic, key, embedding(key, "tx_model", vectors.next(), 1)));
        }
        tx.commitTransaction();
      }
      tx.beginTransaction();
      tx.send(record(topic, "aborted/0", embedding("aborted/0", "tx_model", vectors.next(), 1)));
      tx.abortTransaction();

      // Then every partition's committed offset is its end (lag 0), and all 30 are indexed
      awaitLagZero(connector, topic, "it_tx_model", live);
      assertThat(milvus.collection("it_tx_model").rows).doesNotContainKey("aborted/0");

      // When more records are committed after the task moved past the markers (appended after its
      // check), they are still delivered: nothing skipped, lag 0 again
      tx.beginTransaction();
      for (int i = 0; i < 5; i++) {
        String key = "t" + live++ + "/0";
        tx.send(record(topic, key, embedding(key, "tx_model", vectors.next(), 1)));
      }
      tx.commitTransaction();
      awaitLagZero(connector, topic, "it_tx_model", live);

      // When a task without the brokers to look at (no lag.bootstrap.servers) commits up to the
      // last record of a new transaction, one behind its marker
      Map<String, String> blind = new HashMap<>(config);
      blind.remove(LookalikeSinkConfig.LAG_BOOTSTRAP_SERVERS_CONFIG);
      connect.configureConnector(connector, blind);
      connect
          .assertions()
          .assertConnectorAndExactlyNumTasksAreRunning(connector, 1, "sink did not restart");
      tx.beginTransaction();
      for (int i = 0; i < 5; i++) {
        String key = "t" + live++ + "/0";
        tx.send(record(topic, key, embedding(key, "tx_model", vectors.next(), 1)));
      }
      tx.commitTransaction();
      int rows = live;
      await()
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofMillis(250))
          .until(
              () ->
                  milvus.collection("it_tx_model").rows.size() == rows
                      && committedToLastRecord(connector, topic));
      assertThat(lag(connector, topic)).isPositive();

      // Then a task that can look, started on that commit with no new record, reaches lag 0
      connect.configureConnector(connector, config);
      awaitLagZero(connector, topic, "it_tx_model", live);
    }
    connect.deleteConnector(connector);
  }

  private static ProducerRecord<byte[], byte[]> record(
      String topic, String key, ImageEmbedding embedding) {
    return new ProducerRecord<>(
        topic, key.getBytes(StandardCharsets.UTF_8), Serdes.imageEmbedding().serialize(embedding));
  }

  /** Awaits the group's committed offset == end offset on every partition and the store's count. */
  private static void awaitLagZero(String connector, String topic, String collection, int rows) {
    await()
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofMillis(250))
        .until(
            () -> {
              MilvusProtocolDouble.Collection c = milvus.collection(collection);
              return c != null && c.rows.size() == rows && lag(connector, topic) == 0;
            });
    System.out.printf("%s: lag 0 on every partition, %d rows%n", topic, rows);
  }

  /**
   * True when, on every partition, the group has committed at least up to the last record (end
   * offset minus the commit marker at the end).
   */
  private static boolean committedToLastRecord(String connector, String topic) throws Exception {
    return Arrays.stream(behind(connector, topic)).allMatch(records -> records <= 1);
  }

  /** The sum over the topic's partitions of end offset minus the group's committed offset. */
  private static long lag(String connector, String topic) throws Exception {
    return Arrays.stream(behind(connector, topic)).sum();
  }

  /** Per partition of the 2-partition topic: end offset minus the group's committed offset. */
  private static long[] behind(String connector, String topic) throws Exception {
    try (Admin admin =
        Admin.create(Map.of("bootstrap.servers", connect.kafka().bootstrapServers()))) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin
              .listConsumerGroupOffsets("connect-" + connector)
              .partitionsToOffsetAndMetadata()
              .get();
      long[] behind = new long[2];
      for (int p = 0; p < 2; p++) {
        TopicPartition partition = new TopicPartition(topic, p);
        long end =
            admin
                .listOffsets(Map.of(partition, OffsetSpec.latest()))
                .all()
                .get()
                .get(partition)
                .offset();
        OffsetAndMetadata done = committed.get(partition);
        behind[p] = end - (done == null ? 0 : done.offset());
      }
      return behind;
    }
  }

  private static void awaitCaughtUp(int images) {
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> committedToEnd() && liveImages() == images);
  }

  /** True when the connector's consumer group has committed the end of every partition. */
  private static boolean committedToEnd() throws Exception {
    return lag(CONNECTOR, TOPIC) == 0;
  }

  private static int liveImages() {
    MilvusProtocolDouble.Collection collection = milvus.collection(COLLECTION);
    return collection == null ? -1 : collection.rows.size();
  }

  private static boolean hasKey(String key) {
    return milvus.collection(COLLECTION).rows.containsKey(key);
  }

  /**
   * The value of an attribute of the sink task's plugin-metrics MBeans
   * (kafka.connect:type=plugins,...).
   */
  private static double pluginMetric(String attribute) throws Exception {
    javax.management.MBeanServer server =
        java.lang.management.ManagementFactory.getPlatformMBeanServer();
    double sum = 0;
    boolean found = false;
    for (javax.management.ObjectName name :
        server.queryNames(
            new javax.management.ObjectName(
                "kafka.connect:type=plugins,connector=" + CONNECTOR + ",*"),
            null)) {
      for (javax.management.MBeanAttributeInfo info : server.getMBeanInfo(name).getAttributes()) {
        if (info.getName().equals(attribute)) {
          sum += ((Number) server.getAttribute(name, attribute)).doubleValue();
          found = true;
        }
      }
    }
    assertThat(found)
        .as("an MBean kafka.connect:type=plugins,connector=%s with %s", CONNECTOR, attribute)
        .isTrue();
    return sum;
  }

  private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }

  private void send(String key, ImageEmbedding embedding) {
    sendRaw(key, embedding == null ? null : Serdes.imageEmbedding().serialize(embedding));
  }

  private void sendRaw(String key, byte[] value) {
    producer.send(new ProducerRecord<>(TOPIC, key.getBytes(StandardCharsets.UTF_8), value));
  }

  @SuppressWarnings("unused")
  private static List<ConsumerRecord<byte[], byte[]>> all(
      Iterable<ConsumerRecord<byte[], byte[]>> records) {
    return StreamSupport.stream(records.spliterator(), false).toList();
  }
}
