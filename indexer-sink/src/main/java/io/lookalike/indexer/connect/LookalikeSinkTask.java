package io.lookalike.indexer.connect;

import io.lookalike.indexer.EmbeddingIndexer;
import io.lookalike.indexer.EmbeddingSink;
import io.lookalike.store.VectorStore;
import io.lookalike.store.milvus.MilvusStoreException;
import io.lookalike.schemas.AvroSerde;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.Serdes;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Writes each {@link #put} batch through {@link EmbeddingIndexer} (the same checks, last-change-per-key and
 * metrics as the embedded sink) and reports only the offsets of batches the store has made durable to
 * {@link #preCommit}. Bad records go to Connect's dead-letter queue through the {@link ErrantRecordReporter}.
 */
public class LookalikeSinkTask extends SinkTask {

  private static final Logger log = LoggerFactory.getLogger(LookalikeSinkTask.class);
  private static final long RETRY_BACKOFF_MS = 5_000;

  private final AvroSerde<ImageEmbedding> serde = Serdes.imageEmbedding();
  private final MeterRegistry registry;
  private final Map<String, EmbeddingIndexer> indexers = new HashMap<>();
  private final Map<TopicPartition, OffsetAndMetadata> written = new HashMap<>();
  private LookalikeSinkConfig config;
  private ErrantRecordReporter reporter;

  public LookalikeSinkTask() {
    this(Metrics.globalRegistry);
  }

  /** A task that registers its metrics in {@code registry} (the default: Micrometer's global registry). */
  public LookalikeSinkTask(MeterRegistry registry) {
    this.registry = registry;
  }

  @Override
  public String version() {
    return LookalikeSinkConnector.Version.get();
  }

  @Override
  public void start(Map<String, String> props) {
    config = new LookalikeSinkConfig(props);
    try {
      reporter = context.errantRecordReporter(); // null unless errors.tolerance=all with a dead-letter topic
    } catch (NoSuchMethodError | NoClassDefFoundError e) {
      reporter = null; // a worker older than Kafka 2.6
    }
    log.info("Lookalike sink task started: store={}, dead letters {}", config.getString(LookalikeSinkConfig.STORE_CONFIG),
        reporter == null ? "fail the task" : "go to Connect's dead-letter queue");
  }

  @Override
  public void put(Collection<SinkRecord> records) {
    if (records.isEmpty()) {
      return;
    }
    Map<String, List<Parsed>> byTopic = new LinkedHashMap<>();
    Map<TopicPartition, OffsetAndMetadata> handled = new HashMap<>();
    try (var stage = MDC.putCloseable("stage", EmbeddingSink.STAGE)) {
      for (SinkRecord record : records) {
        handled.put(new TopicPartition(record.originalTopic(), record.originalKafkaPartition()),
            new OffsetAndMetadata(record.originalKafkaOffset() + 1));
        Parsed parsed = parse(record);
        if (parsed != null) {
          byTopic.computeIfAbsent(record.topic(), t -> new ArrayList<>()).add(parsed);
        }
      }
      for (Map.Entry<String, List<Parsed>> entry : byTopic.entrySet()) {
        EmbeddingIndexer indexer = indexerFor(entry.getKey(), entry.getValue());
        if (indexer == null) {
          continue;
        }
        List<EmbeddingIndexer.Change> changes = new ArrayList<>(entry.getValue().size());
        for (Parsed parsed : entry.getValue()) {
          EmbeddingIndexer.Rejection rejection = parsed.embedding() == null ? null
              : indexer.check(parsed.key(), parsed.embedding());
          if (rejection != null) {
            reject(parsed.record(), indexer, rejection.code(), rejection.reason(), null);
          } else {
            changes.add(new EmbeddingIndexer.Change(parsed.key(), parsed.embedding()));
          }
        }
        VectorStore.WriteResult result = indexer.index(changes);
        log.debug("Indexed {} changes from {}: {}", changes.size(), entry.getKey(), result);
      }
    } catch (MilvusStoreException e) {
      if (e.isTransient()) {
        // Connect redelivers the same records after the back-off; offsets do not move meanwhile.
        context.timeout(RETRY_BACKOFF_MS);
        throw new RetriableException(e.getMessage(), e);
      }
      throw new ConnectException(e.getMessage(), e);
    }
    written.putAll(handled); // only now: the store holds the batch
  }

  @Override
  public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
    Map<TopicPartition, OffsetAndMetadata> durable = new HashMap<>();
    for (TopicPartition partition : currentOffsets.keySet()) {
      OffsetAndMetadata offset = written.get(partition);
      if (offset != null) {
        durable.put(partition, offset);
      }
    }
    return durable;
  }

  @Override
  public void close(Collection<TopicPartition> partitions) {
    partitions.forEach(written::remove);
  }

  @Override
  public void stop() {
    for (EmbeddingIndexer indexer : indexers.values()) {
      try {
        indexer.store().close();
      } catch (RuntimeException e) {
        log.warn("Cannot close {}", indexer.store(), e);
      }
    }
    indexers.clear();
  }

  /** A record with a well-formed key and value; {@code embedding == null} for a tombstone. */
  private record Parsed(SinkRecord record, ImageKey key, ImageEmbedding embedding) {}

  /** The key and decoded value of a record, or null when it was dead-lettered. */
  private Parsed parse(SinkRecord record) {
    String rawKey = keyText(record.key());
    MDC.put("partition", String.valueOf(record.kafkaPartition()));
    MDC.put("key", rawKey);
    try {
      ImageKey key;
      try {
        key = ImageKey.parse(rawKey);
      } catch (IllegalArgumentException | NullPointerException e) {
        return reject(record, null, "bad_key", "Record key is not productId/imageId: " + rawKey, e);
      }
      if (record.value() == null) {
        return new Parsed(record, key, null);
      }
      byte[] bytes = valueBytes(record.value());
      if (bytes == null) {
        return reject(record, null, "bad_value", "Value is a " + record.value().getClass().getName()
            + "; use value.converter=org.apache.kafka.connect.converters.ByteArrayConverter", null);
      }
      try {
        return new Parsed(record, key, serde.deserialize(bytes));
      } catch (SerializationException e) {
        return reject(record, null, "corrupt_record", e.getMessage(), e);
      }
    } finally {
      MDC.remove("partition");
      MDC.remove("key");
    }
  }

  private Parsed reject(SinkRecord record, EmbeddingIndexer indexer, String code, String reason,
      Throwable cause) {
    log.warn("Dead-lettering record {}-{}@{}: {}", record.topic(), record.kafkaPartition(), record.kafkaOffset(),
        reason);
    if (indexer != null) {
      indexer.rejected(code);
    }
    DataException error = new DataException(code + ": " + reason, cause);
    if (reporter == null) {
      throw error; // no dead-letter queue configured: Connect's errors.tolerance decides
    }
    reporter.report(record, error); // Connect waits for these writes before it commits offsets
    return null;
  }

  /**
   * The indexer of a topic, opening its store on first use. Returns null when the store does not exist
   * yet and the records hold no embedding of the topic's model (only deletes: nothing to delete).
   */
  private EmbeddingIndexer indexerFor(String topic, List<Parsed> records) {
    EmbeddingIndexer indexer = indexers.get(topic);
    if (indexer != null) {
      return indexer;
    }
    String configured = config.modelIdOf(topic);
    ImageEmbedding first = records.stream().map(Parsed::embedding).filter(java.util.Objects::nonNull)
        .filter(e -> configured == null || configured.equals(e.getModelId())).findFirst().orElse(null);
    String modelId = configured != null ? configured : first == null ? null : first.getModelId();
    if (modelId == null) {
      return null;
    }
    OptionalInt dimension = config.dimensionOf(modelId);
    if (dimension.isEmpty()) {
      if (first == null) {
        log.info("Skipping {} deletes from {}: the index of model {} does not exist yet", records.size(), topic,
            modelId);
        return null;
      }
      dimension = OptionalInt.of(first.getVector().size()); // set model.dimension to not trust the first record
    }
    VectorStore store = config.openStore(modelId, dimension.getAsInt());
    indexer = new EmbeddingIndexer(store, registry);
    indexers.put(topic, indexer);
    log.info("Indexing {} into {}", topic, store);
    return indexer;
  }

  private static String keyText(Object key) {
    if (key instanceof String text) {
      return text;
    }
    if (key instanceof byte[] bytes) {
      return new String(bytes, StandardCharsets.UTF_8);
    }
    if (key instanceof ByteBuffer buffer) {
      return StandardCharsets.UTF_8.decode(buffer.duplicate()).toString();
    }
    return key == null ? null : key.toString();
  }

  private static byte[] valueBytes(Object value) {
    if (value instanceof byte[] bytes) {
      return bytes;
    }
    if (value instanceof ByteBuffer buffer) {
      byte[] bytes = new byte[buffer.remaining()];
      buffer.duplicate().get(bytes);
      return bytes;
    }
    return null;
  }
}
