package io.lookalike.indexer.connect;

import static io.lookalike.indexer.Embeddings.embedding;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.lookalike.store.ClusteredVectors;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusProtocolDouble;
import io.lookalike.testkit.ApicurioRegistry;
import io.lookalike.testkit.TcpProxy;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.converters.ByteArrayConverter;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sink connector in a real Connect worker reading Confluent-framed embeddings through a real
 * schema registry (Apicurio, behind a loopback proxy the test can cut), beside single-object ones;
 * a schema id the registry does not have goes to the dead-letter queue naming the id, and a
 * registry that cannot be reached makes the task retry the batch, losing and dead-lettering
 * nothing.
 */
class LookalikeSinkConnectorRegistryIT {

  private static final String MODEL = "reg_model";
  private static final String TOPIC = "catalog.image-embeddings." + MODEL;
  private static final String DEAD_LETTERS = "catalog.dead-letters";
  private static final String CONNECTOR = "lookalike-sink-registry";
  private static final String COLLECTION = "it_" + MODEL;
  private static final int DIM = 16;
  private static final ObjectMapper JSON = new ObjectMapper();

  private static ApicurioRegistry registry;
  private static TcpProxy proxy;
  private static EmbeddedConnectCluster connect;
  private static KafkaProducer<byte[], byte[]> producer;
  private static MilvusProtocolDouble milvus;
  private final ClusteredVectors vectors = new ClusteredVectors(DIM, 4, 0.5f, 23);

  @BeforeAll
  static void start() throws Exception {
    registry =
        ApicurioRegistry.start(
            Path.of("target", "apicurio-registry-LookalikeSinkConnectorRegistryIT.log"));
    proxy = TcpProxy.to(URI.create(registry.url()).getPort());
    milvus = new MilvusProtocolDouble();
    Properties broker = new Properties();
    broker.put("transaction.state.log.replication.factor", "1");
    broker.put("transaction.state.log.min.isr", "1");
    broker.put("offsets.topic.replication.factor", "1");
    broker.put("group.initial.rebalance.delay.ms", "0");
    connect =
        new EmbeddedConnectCluster.Builder()
            .name("sink-registry-it")
            .numWorkers(1)
            .brokerProps(broker)
            .workerProps(new HashMap<>(Map.of("offset.flush.interval.ms", "500")))
            .build();
    connect.start();
    connect.kafka().createTopic(TOPIC, 1);
    connect.kafka().createTopic(DEAD_LETTERS, 1);
    producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, connect.kafka().bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
  }

  @AfterAll
  static void stop() throws Exception {
    if (producer != null) {
      producer.close();
    }
    if (connect != null) {
      connect.stop();
    }
    if (milvus != null) {
      milvus.close();
    }
    if (proxy != null) {
      proxy.close();
    }
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void shouldIndexConfluentAndSingleObjectEmbeddingsAndWaitOutARegistryOutage() throws Exception {
    // Given the connector on Milvus with Connect's dead-letter queue and the registry's settings
    String url = "http://127.0.0.1:" + proxy.port() + URI.create(registry.url()).getPath();
    Map<String, String> config = new HashMap<>();
    config.put("connector.class", LookalikeSinkConnector.class.getName());
    config.put("tasks.max", "1");
    config.put("topics", TOPIC);
    config.put("key.converter", ByteArrayConverter.class.getName());
    config.put("value.converter", ByteArrayConverter.class.getName());
    config.put(LookalikeSinkConfig.STORE_CONFIG, "milvus");
    config.put(MilvusConfig.URI_CONFIG, milvus.uri());
    config.put(MilvusConfig.COLLECTION_PREFIX_CONFIG, "it_");
    config.put(MilvusConfig.ALIAS_CONFIG, "it_reg_active");
    config.put(SchemaRegistryConfig.URL_CONFIG, url);
    config.put("errors.tolerance", "all");
    config.put("errors.deadletterqueue.topic.name", DEAD_LETTERS);
    config.put("errors.deadletterqueue.topic.replication.factor", "1");
    config.put("errors.deadletterqueue.context.headers.enable", "true");
    connect.configureConnector(CONNECTOR, config);
    connect
        .assertions()
        .assertConnectorAndExactlyNumTasksAreRunning(CONNECTOR, 1, "sink did not start");
    SchemaRegistryClient client =
        new SchemaRegistryClient(registry.url(), "", null, Duration.ofSeconds(30));
    int id = client.register(TOPIC + "-value", ImageEmbedding.getClassSchema());

    // When Confluent-framed embeddings, a single-object one and one naming an unknown id arrive
    for (int i = 0; i < 5; i++) {
      send("c" + i + "/0", ConfluentWireFormat.encode(id, next("c" + i + "/0")));
    }
    send("s0/0", Serdes.imageEmbedding().serialize(next("s0/0")));
    send("u0/0", ConfluentWireFormat.encode(987_654, next("u0/0")));
    producer.flush();

    // Then both encodings are indexed, and the unknown id is dead-lettered naming it
    await().atMost(Duration.ofSeconds(60)).until(() -> liveImages() == 6);
    assertThat(hasKey("s0/0")).isTrue();
    ConsumerRecord<byte[], byte[]> dead =
        connect.kafka().consume(1, 30_000, DEAD_LETTERS).iterator().next();
    assertThat(new String(dead.key(), StandardCharsets.UTF_8)).isEqualTo("u0/0");
    assertThat(header(dead, "__connect.errors.exception.message"))
        .contains("corrupt_record")
        .contains("987654");

    // When a writer on a newer ImageEmbedding (an added optional field) is registered, the
    // registry becomes unreachable, and its record arrives
    int newer = client.register(TOPIC + "-value", withAddedField());
    proxy.cut();
    int refusedBefore = proxy.refused();
    ByteArrayOutputStream framed = new ByteArrayOutputStream();
    framed.writeBytes(ConfluentWireFormat.encode(newer, next("n0/0")));
    framed.write(0); // the added field: null (union branch 0)
    send("n0/0", framed.toByteArray());
    producer.flush();

    // Then the task keeps asking (redelivering the batch) without indexing or dead-lettering it
    await().atMost(Duration.ofSeconds(90)).until(() -> proxy.refused() >= refusedBefore + 6);
    assertThat(hasKey("n0/0")).isFalse();
    connect
        .assertions()
        .assertConnectorAndExactlyNumTasksAreRunning(CONNECTOR, 1, "sink failed in the outage");

    // And once the registry is back the record is indexed, with still only the one dead letter
    proxy.restore();
    await().atMost(Duration.ofSeconds(60)).until(() -> hasKey("n0/0"));
    assertThat(connect.kafka().consume(1, 5_000, DEAD_LETTERS).count()).isEqualTo(1);
    connect.deleteConnector(CONNECTOR);
  }

  private ImageEmbedding next(String key) {
    return embedding(key, MODEL, vectors.next(), 1);
  }

  private static Schema withAddedField() throws Exception {
    ObjectNode schema = (ObjectNode) JSON.readTree(ImageEmbedding.getClassSchema().toString());
    ObjectNode added = ((ArrayNode) schema.get("fields")).addObject();
    added.put("name", "embeddedBy");
    added.putArray("type").add("null").add("string");
    added.putNull("default");
    return new Schema.Parser().parse(schema.toString());
  }

  private static int liveImages() {
    MilvusProtocolDouble.Collection collection = milvus.collection(COLLECTION);
    return collection == null ? -1 : collection.rows.size();
  }

  private static boolean hasKey(String key) {
    MilvusProtocolDouble.Collection collection = milvus.collection(COLLECTION);
    return collection != null && collection.rows.containsKey(key);
  }

  private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }

  private static void send(String key, byte[] value) {
    producer.send(new ProducerRecord<>(TOPIC, key.getBytes(StandardCharsets.UTF_8), value));
  }
}
