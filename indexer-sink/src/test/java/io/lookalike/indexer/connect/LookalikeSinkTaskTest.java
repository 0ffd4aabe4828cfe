package io.lookalike.indexer.connect;

import static io.lookalike.indexer.Embeddings.embedding;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.indexer.EmbeddingIndexer;
import io.lookalike.schemas.ConnectorChecks;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.Serdes;
import io.lookalike.store.ClusteredVectors;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.lookalike.store.milvus.MilvusConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTaskContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LookalikeSinkTaskTest {

  static final String MODEL = "task_model";
  static final String TOPIC = "catalog.image-embeddings." + MODEL;
  static final int DIM = 8;

  @TempDir Path dir;
  private final ClusteredVectors vectors = new ClusteredVectors(DIM, 3, 0.4f, 5);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final Context context = new Context();
  private final LookalikeSinkTask task = new LookalikeSinkTask(registry);
  private long offset;

  @AfterEach
  void stop() {
    task.stop();
  }

  @Test
  void shouldWriteEmbeddingsAndTombstonesAndCommitOnlyWhatIsWritten() {
    startLucene();
    task.put(
        List.of(
            record("p1/0", embedding("p1/0", MODEL, vectors.next(), 1)),
            record("p2/0", embedding("p2/0", MODEL, vectors.next(), 1))));
    task.put(List.of(record("p1/0", null)));

    Map<TopicPartition, OffsetAndMetadata> committed =
        task.preCommit(Map.of(partition(), new OffsetAndMetadata(99)));

    assertThat(committed).containsEntry(partition(), new OffsetAndMetadata(3));
    try (LuceneVectorStore store = reopen()) {
      assertThat(store.count()).isEqualTo(1);
      assertThat(store.get(ImageKey.parse("p2/0"))).isPresent();
    }
  }

  @Test
  void shouldTakeTheModelFromTheTopicAndTheDimensionFromTheFirstEmbedding() {
    startLucene();
    task.put(List.of(record("p1/0", embedding("p1/0", MODEL, vectors.next(), 1))));
    task.stop();
    try (LuceneVectorStore store = reopen()) {
      assertThat(store.modelId()).isEqualTo(MODEL);
      assertThat(store.dimension()).isEqualTo(DIM);
    }
  }

  @Test
  void shouldSkipDeletesWhenTheIndexDoesNotExistYetAndStillCommit() {
    startLucene();
    task.put(List.of(record("p1/0", null)));

    assertThat(task.preCommit(Map.of(partition(), new OffsetAndMetadata(9))))
        .containsEntry(partition(), new OffsetAndMetadata(1));
  }

  @Test
  void shouldDeadLetterBadRecordsWithTheirReasonAndKeepGoing() {
    startLucene();
    task.put(
        List.of(
            record("p1/0", embedding("p1/0", MODEL, vectors.next(), 1)),
            rawRecord("p2/0", "not avro".getBytes(StandardCharsets.UTF_8)),
            record("p3/0", embedding("p3/0", "other_model", vectors.next(), 1)),
            record("p4/0", embedding("p4/0", MODEL, new float[DIM + 1], 1)),
            rawRecord("no-slash", null),
            record("p5/0", embedding("p5/0", MODEL, vectors.next(), 1))));

    assertThat(context.reported)
        .extracting(r -> r.getValue().getMessage().split(":")[0])
        .containsExactlyInAnyOrder("corrupt_record", "wrong_model", "wrong_dimension", "bad_key");
    assertThat(task.preCommit(Map.of(partition(), new OffsetAndMetadata(9))))
        .containsEntry(partition(), new OffsetAndMetadata(6));
    assertThat(
            registry
                .get(EmbeddingIndexer.REJECTED_METRIC)
                .tag("reason", "wrong_dimension")
                .counter()
                .count())
        .isEqualTo(1);
    task.stop();
    try (LuceneVectorStore store = reopen()) {
      assertThat(store.count()).isEqualTo(2);
    }
  }

  @Test
  void shouldFailTheBatchWhenErrorsAreNotTolerated() {
    context.reporter = false;
    startLucene("none");

    assertThatThrownBy(
            () -> task.put(List.of(rawRecord("p2/0", "x".getBytes(StandardCharsets.UTF_8)))))
        .hasMessageContaining("corrupt_record");
    assertThat(task.preCommit(Map.of(partition(), new OffsetAndMetadata(9)))).isEmpty();
  }

  @Test
  void shouldSkipPoisonRecordWhenErrorsAreToleratedWithoutADeadLetterQueue() {
    context.reporter = false; // errors.tolerance=all without errors.deadletterqueue.topic.name
    startLucene("all");

    task.put(
        List.of(
            rawRecord("p2/0", "x".getBytes(StandardCharsets.UTF_8)),
            record("p3/0", embedding("p3/0", MODEL, vectors.next(), 1))));

    assertThat(task.preCommit(Map.of(partition(), new OffsetAndMetadata(9))))
        .containsEntry(partition(), new OffsetAndMetadata(2));
  }

  @Test
  void shouldRefuseLuceneWithoutADirectory() {
    assertThatThrownBy(
            () -> new LookalikeSinkConfig(Map.of(LookalikeSinkConfig.STORE_CONFIG, "lucene")))
        .hasMessageContaining(LookalikeSinkConfig.LUCENE_DIR_CONFIG);
  }

  @Test
  void shouldRefuseAnUnknownStoreOrABadModelId() {
    assertThatThrownBy(
            () -> new LookalikeSinkConfig(Map.of(LookalikeSinkConfig.STORE_CONFIG, "faiss")))
        .hasMessageContaining("store");
    assertThatThrownBy(
            () -> new LookalikeSinkConfig(Map.of(LookalikeSinkConfig.MODEL_ID_CONFIG, "Bad-Model")))
        .hasMessageContaining("model.id");
    assertThatThrownBy(
            () -> new LookalikeSinkConfig(Map.of(MilvusConfig.INDEX_TYPE_CONFIG, "BTREE")))
        .hasMessageContaining(MilvusConfig.INDEX_TYPE_CONFIG);
    assertThatThrownBy(() -> new LookalikeSinkConfig(Map.of(MilvusConfig.INDEX_PARAMS_CONFIG, "M")))
        .hasMessageContaining("key=value");
  }

  @Test
  void shouldRefuseLuceneInConnectAtValidationAndStartPointingToMilvusOrTheEmbeddedIndexer() {
    Map<String, String> lucene =
        withConverters(
            Map.of(
                LookalikeSinkConfig.STORE_CONFIG,
                "lucene",
                LookalikeSinkConfig.LUCENE_DIR_CONFIG,
                "/data/index"));
    assertThat(
            errors(new LookalikeSinkConnector().validate(lucene))
                .get(LookalikeSinkConfig.STORE_CONFIG))
        .singleElement()
        .asString()
        .contains("store=milvus")
        .contains("lookalike indexer");
    assertThatThrownBy(() -> new LookalikeSinkConnector().start(lucene))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("store=milvus");
  }

  @Test
  void shouldFailValidationOfLuceneWithoutADirectory() {
    Map<String, String> props = withConverters(Map.of(LookalikeSinkConfig.STORE_CONFIG, "lucene"));
    assertThat(
            errors(new LookalikeSinkConnector().validate(props))
                .get(LookalikeSinkConfig.LUCENE_DIR_CONFIG))
        .singleElement()
        .asString()
        .contains("required");
  }

  @Test
  void shouldFailValidationAndStartWhenConvertersAreNotSetOrWrongNamingByteArrayConverter() {
    Map<String, String> json =
        Map.of("value.converter", "org.apache.kafka.connect.json.JsonConverter");
    Map<String, List<String>> errors = errors(new LookalikeSinkConnector().validate(json));
    assertThat(errors.get("value.converter"))
        .singleElement()
        .asString()
        .contains("JsonConverter")
        .contains(ConnectorChecks.BYTE_ARRAY_CONVERTER);
    assertThat(errors.get("key.converter")).singleElement().asString().contains("not set");
    assertThatThrownBy(() -> new LookalikeSinkConnector().start(json))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(ConnectorChecks.BYTE_ARRAY_CONVERTER);
  }

  @Test
  void shouldPassValidationOfTheSampleConfigAndRunManyTasksOnMilvus() throws Exception {
    Map<String, String> sample =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readValue(
                java.nio.file.Path.of("../deploy/compose/connect-sink.json").toFile(),
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, String>>() {});
    assertThat(errors(new LookalikeSinkConnector().validate(sample))).isEmpty();
    assertThat(ConnectorChecks.unknownKeys(sample, LookalikeSinkConfig.CONFIG_DEF)).isEmpty();
    LookalikeSinkConnector connector = new LookalikeSinkConnector();
    connector.start(sample);
    assertThat(connector.taskConfigs(4)).hasSize(4);
  }

  @Test
  void shouldWarnAboutUnknownKeysNamingTheNearestKnownOne() {
    assertThat(
            ConnectorChecks.unknownKeys(
                withConverters(Map.of("milvus.url", "http://127.0.0.1:19530", "topics", "t")),
                LookalikeSinkConfig.CONFIG_DEF))
        .containsExactly("Unknown setting 'milvus.url' is ignored (did you mean 'milvus.uri'?)");
  }

  @Test
  void shouldReportTheProjectVersionNotKafkas() {
    assertThat(new LookalikeSinkConnector().version())
        .matches("\\d+\\.\\d+\\.\\d+.*")
        .isNotEqualTo(org.apache.kafka.common.utils.AppInfoParser.getVersion());
    assertThat(new LookalikeSinkTask().version()).isEqualTo(new LookalikeSinkConnector().version());
  }

  private static Map<String, String> withConverters(Map<String, String> props) {
    Map<String, String> all = new HashMap<>(props);
    all.put("key.converter", ConnectorChecks.BYTE_ARRAY_CONVERTER);
    all.put("value.converter", ConnectorChecks.BYTE_ARRAY_CONVERTER);
    return all;
  }

  /** The error messages of a validation result, by key, for the keys that have any. */
  private static Map<String, List<String>> errors(org.apache.kafka.common.config.Config config) {
    Map<String, List<String>> errors = new HashMap<>();
    config.configValues().stream()
        .filter(v -> !v.errorMessages().isEmpty())
        .forEach(
            v ->
                errors.computeIfAbsent(v.name(), k -> new ArrayList<>()).addAll(v.errorMessages()));
    return errors;
  }

  void startLucene() {
    startLucene("all");
  }

  void startLucene(String errorsTolerance) {
    task.initialize(context);
    task.start(
        Map.of(
            LookalikeSinkConfig.STORE_CONFIG,
            "lucene",
            LookalikeSinkConfig.LUCENE_DIR_CONFIG,
            dir.toString(),
            "errors.tolerance",
            errorsTolerance));
  }

  LuceneVectorStore reopen() {
    task.stop();
    return LuceneVectorStore.open(dir.resolve(MODEL), MODEL, DIM);
  }

  static TopicPartition partition() {
    return new TopicPartition(TOPIC, 0);
  }

  SinkRecord record(String key, ImageEmbedding embedding) {
    return rawRecord(key, embedding == null ? null : Serdes.imageEmbedding().serialize(embedding));
  }

  SinkRecord rawRecord(String key, byte[] value) {
    return new SinkRecord(
        TOPIC, 0, null, key.getBytes(StandardCharsets.UTF_8), null, value, offset++);
  }

  /** The worker's side of a task: a record of what it was asked. */
  public static final class Context implements SinkTaskContext {
    public final List<Map.Entry<SinkRecord, Throwable>> reported = new ArrayList<>();
    boolean reporter = true;
    public long timeout;

    @Override
    public ErrantRecordReporter errantRecordReporter() {
      return reporter
          ? (record, error) -> {
            reported.add(Map.entry(record, error));
            Future<Void> done = CompletableFuture.completedFuture(null);
            return done;
          }
          : null;
    }

    @Override
    public Map<String, String> configs() {
      return new HashMap<>();
    }

    @Override
    public void offset(Map<TopicPartition, Long> offsets) {}

    @Override
    public void offset(TopicPartition tp, long offset) {}

    @Override
    public void timeout(long timeoutMs) {
      timeout = timeoutMs;
    }

    @Override
    public Set<TopicPartition> assignment() {
      return Set.of(partition());
    }

    @Override
    public void pause(TopicPartition... partitions) {}

    @Override
    public void resume(TopicPartition... partitions) {}

    @Override
    public void requestCommit() {}

    @Override
    public org.apache.kafka.common.metrics.PluginMetrics pluginMetrics() {
      return null;
    }
  }
}
