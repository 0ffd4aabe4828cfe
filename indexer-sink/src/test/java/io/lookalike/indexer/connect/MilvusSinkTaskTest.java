package io.lookalike.indexer.connect;

import static io.lookalike.indexer.Embeddings.embedding;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.Serdes;
import io.lookalike.store.ClusteredVectors;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusProtocolDouble;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.milvus.shaded.io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The sink task on store=milvus, against {@link MilvusProtocolDouble} (not Milvus). */
class MilvusSinkTaskTest {

  static final String MODEL = "task_model";
  static final String TOPIC = "catalog.image-embeddings." + MODEL;
  static final int DIM = 8;

  private static MilvusProtocolDouble milvus;
  private static int next;
  private final ClusteredVectors vectors = new ClusteredVectors(DIM, 3, 0.4f, 5);
  private final LookalikeSinkTaskTest.Context context = new LookalikeSinkTaskTest.Context();
  private final LookalikeSinkTask task = new LookalikeSinkTask(new SimpleMeterRegistry());
  private String prefix;
  private long offset;

  @BeforeAll
  static void startDouble() throws Exception {
    milvus = new MilvusProtocolDouble();
  }

  @AfterAll
  static void stopDouble() throws Exception {
    milvus.close();
  }

  @BeforeEach
  void start() {
    prefix = "s" + (next++) + "_";
    task.initialize(context);
    task.start(
        Map.of(
            LookalikeSinkConfig.STORE_CONFIG,
            "milvus",
            MilvusConfig.URI_CONFIG,
            milvus.uri(),
            MilvusConfig.COLLECTION_PREFIX_CONFIG,
            prefix,
            MilvusConfig.ALIAS_CONFIG,
            prefix + "active",
            MilvusConfig.RETRY_INITIAL_BACKOFF_MS_CONFIG,
            "10",
            MilvusConfig.RETRY_MAX_ATTEMPTS_CONFIG,
            "3"));
  }

  @AfterEach
  void stop() {
    milvus.clearFailures();
    task.stop();
  }

  @Test
  void shouldCreateTheCollectionAndItsAliasAndCommitWhatIsWritten() {
    task.put(
        List.of(
            record("p1/0", embedding("p1/0", MODEL, vectors.next(), 1)),
            record("p2/0", embedding("p2/0", MODEL, vectors.next(), 1)),
            record("p1/0", null)));

    assertThat(milvus.collection(prefix + MODEL).rows).containsOnlyKeys("p2/0");
    assertThat(milvus.aliasTarget(prefix + "active")).isEqualTo(prefix + MODEL);
    assertThat(task.preCommit(Map.of(partition(), new OffsetAndMetadata(50))))
        .containsEntry(partition(), new OffsetAndMetadata(3));
  }

  @Test
  void shouldRetryUnavailableInsideOneBatch() {
    task.put(List.of(record("p1/0", embedding("p1/0", MODEL, vectors.next(), 1))));
    milvus.failNext("upsert", 2, Status.UNAVAILABLE.withDescription("injected"));

    task.put(List.of(record("p2/0", embedding("p2/0", MODEL, vectors.next(), 1))));

    assertThat(milvus.collection(prefix + MODEL).rows).containsOnlyKeys("p1/0", "p2/0");
  }

  @Test
  void shouldAskConnectToRedeliverWhenMilvusStaysUnavailableAndCommitNothingOfTheBatch() {
    task.put(List.of(record("p1/0", embedding("p1/0", MODEL, vectors.next(), 1))));
    milvus.failNext("upsert", 10, Status.UNAVAILABLE.withDescription("injected"));

    assertThatThrownBy(
            () -> task.put(List.of(record("p2/0", embedding("p2/0", MODEL, vectors.next(), 1)))))
        .isInstanceOf(RetriableException.class);

    assertThat(context.timeout).isPositive();
    assertThat(task.preCommit(Map.of(partition(), new OffsetAndMetadata(50))))
        .containsEntry(partition(), new OffsetAndMetadata(1));
  }

  @Test
  void shouldFailTheTaskWithTheReasonOnceTheStoreStaysUnavailableLongerThanAllowed() {
    task.stop();
    task.start(
        Map.of(
            LookalikeSinkConfig.STORE_CONFIG, "milvus",
            MilvusConfig.URI_CONFIG, milvus.uri(),
            MilvusConfig.COLLECTION_PREFIX_CONFIG, prefix,
            MilvusConfig.ALIAS_CONFIG, prefix + "active",
            MilvusConfig.RETRY_INITIAL_BACKOFF_MS_CONFIG, "10",
            MilvusConfig.RETRY_MAX_ATTEMPTS_CONFIG, "2",
            LookalikeSinkConfig.UNAVAILABLE_MAX_MS_CONFIG, "0"));
    task.put(List.of(record("p1/0", embedding("p1/0", MODEL, vectors.next(), 1))));
    milvus.failNext("upsert", 10, Status.UNAVAILABLE.withDescription("injected outage"));

    assertThatThrownBy(
            () -> task.put(List.of(record("p2/0", embedding("p2/0", MODEL, vectors.next(), 1)))))
        .isInstanceOf(ConnectException.class)
        .isNotInstanceOf(RetriableException.class)
        .hasMessageContaining(LookalikeSinkConfig.UNAVAILABLE_MAX_MS_CONFIG + "=0")
        .hasMessageContaining("transient");
    assertThat(task.preCommit(Map.of(partition(), new OffsetAndMetadata(50))))
        .containsEntry(partition(), new OffsetAndMetadata(1));
  }

  @Test
  void shouldFailTheTaskOnAPermanentErrorAndCommitNothingOfTheBatch() {
    task.put(List.of(record("p1/0", embedding("p1/0", MODEL, vectors.next(), 1))));
    milvus.errorNext("upsert", 1, 1100, "invalid parameter: injected");

    assertThatThrownBy(
            () -> task.put(List.of(record("p2/0", embedding("p2/0", MODEL, vectors.next(), 1)))))
        .isInstanceOf(ConnectException.class)
        .isNotInstanceOf(RetriableException.class)
        .hasMessageContaining("permanently")
        .hasMessageContaining("injected");

    assertThat(task.preCommit(Map.of(partition(), new OffsetAndMetadata(50))))
        .containsEntry(partition(), new OffsetAndMetadata(1));
    assertThat(milvus.collection(prefix + MODEL).rows).containsOnlyKeys("p1/0");
  }

  static TopicPartition partition() {
    return new TopicPartition(TOPIC, 0);
  }

  SinkRecord record(String key, ImageEmbedding embedding) {
    return new SinkRecord(
        TOPIC,
        0,
        null,
        key.getBytes(StandardCharsets.UTF_8),
        null,
        embedding == null ? null : Serdes.imageEmbedding().serialize(embedding),
        offset++);
  }
}
