package io.lookalike.indexer.connect;

import io.lookalike.indexer.EmbeddingIndexer;
import io.lookalike.indexer.EmbeddingSink;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.PluginMetricsBridge;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.registry.AvroValueSerde;
import io.lookalike.schemas.registry.RegistryUnavailableException;
import io.lookalike.store.VectorStore;
import io.lookalike.store.milvus.MilvusStoreException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
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
 * Writes each {@link #put} batch through {@link EmbeddingIndexer} (the same checks,
 * last-change-per-key and metrics as the embedded sink; searchable when {@code put} returns) and
 * reports only the offsets of batches the store has made durable to {@link #preCommit}: it flushes
 * every store first (a Lucene commit, an fsync), so the offsets in {@code written}, all of batches
 * whose write returned before that flush began, cover durable records only. The worker calls it
 * every {@code offset.flush.interval.ms} and before a rebalance or stop; a crash in between loses
 * only batches whose offsets were not committed, which the worker delivers again (writes are
 * idempotent). Bad records go to Connect's dead-letter queue through the {@link
 * ErrantRecordReporter}.
 */
public class LookalikeSinkTask extends SinkTask {

  private static final Logger log = LoggerFactory.getLogger(LookalikeSinkTask.class);
  private static final long RETRY_BACKOFF_MS = 5_000;

  /** How often an idle partition's end is looked at, at most. */
  private static final long GAP_CHECK_INTERVAL_NS = Duration.ofSeconds(1).toNanos();

  /** The metadata of an offset committed past transaction markers (tells the commit apart). */
  static final String PAST_MARKERS_METADATA = "lookalike: past transaction markers";

  /** Reads embeddings in any Avro encoding (Confluent-framed ones through the registry). */
  private AvroValueSerde<ImageEmbedding> serde = Serdes.imageEmbeddingReader(null);

  private final MeterRegistry registry;
  private final Map<String, EmbeddingIndexer> indexers = new HashMap<>();
  private final Map<TopicPartition, OffsetAndMetadata> written = new HashMap<>();
  private LookalikeSinkConfig config;
  private ErrantRecordReporter reporter;

  /**
   * errors.tolerance=all: a bad record is skipped (dead-lettered when there is a queue), never
   * fails the task.
   */
  private boolean tolerateAll;

  /** When the store first failed to answer in the current outage; -1 while it answers. */
  private long unavailableSince = -1;

  private long unavailableMaxMs;
  private PluginMetricsBridge pluginMetrics;

  /** Finds the markers at a partition's end; null when no brokers are known (lag stays 1). */
  private TransactionGap gap;

  /** Partitions the worker was asked to move past their markers, and to where. */
  private final Map<TopicPartition, Long> skipping = new HashMap<>();

  /** Partitions with a record handed to this task since they were assigned (written or not). */
  private final Set<TopicPartition> delivered = new HashSet<>();

  private final Map<TopicPartition, Long> lastGapCheck = new HashMap<>();

  /**
   * The task a worker creates: its metrics in a registry of its own, shown as Connect plugin
   * metrics (JMX).
   */
  public LookalikeSinkTask() {
    this(new SimpleMeterRegistry());
  }

  /** A task that registers its metrics in {@code registry}. */
  public LookalikeSinkTask(MeterRegistry registry) {
    this.registry = registry;
  }

  @Override
  public String version() {
    return LookalikeSinkConnector.VERSION;
  }

  @Override
  public void start(Map<String, String> props) {
    config = new LookalikeSinkConfig(props);
    serde = Serdes.imageEmbeddingReader(config.schemaRegistryConfig().clientOrNull());
    try {
      // non-null when the connector has errors.deadletterqueue.topic.name or errors.log.enable=true
      reporter = context.errantRecordReporter();
    } catch (NoSuchMethodError | NoClassDefFoundError e) {
      reporter = null; // a worker older than Kafka 2.6
    }
    unavailableMaxMs = config.getLong(LookalikeSinkConfig.UNAVAILABLE_MAX_MS_CONFIG);
    unavailableSince = -1;
    pluginMetrics = PluginMetricsBridge.of(() -> context.pluginMetrics(), registry);
    Map<String, Object> lagSettings = config.lagConsumerSettings(props);
    gap = lagSettings.isEmpty() ? null : new TransactionGap(lagSettings, Duration.ofSeconds(5));
    if (gap == null) {
      log.info(
          "No {} (nor consumer.override.bootstrap.servers): offsets are committed up to the last "
              + "record, one below the end of a partition that ends in a transaction marker",
          LookalikeSinkConfig.LAG_BOOTSTRAP_SERVERS_CONFIG);
    }
    tolerateAll = "all".equalsIgnoreCase(props.getOrDefault("errors.tolerance", "none").strip());
    log.info(
        "Lookalike sink task started: store={}, bad records {}",
        config.getString(LookalikeSinkConfig.STORE_CONFIG),
        reporter != null && tolerateAll
            ? "go to Connect's dead-letter queue"
            : tolerateAll
                ? "are logged and skipped (errors.tolerance=all, no errors.deadletterqueue.topic.name)"
                : "fail the task (errors.tolerance=none)");
  }

  @Override
  public void put(Collection<SinkRecord> records) {
    if (records.isEmpty()) {
      skipMarkers(Set.of());
      return;
    }
    // Every writer schema first: a registry that cannot be asked fails the batch (redelivered after
    // a back-off) before any of it goes to the dead-letter queue, so a redelivery reports none
    // twice.
    try {
      for (SinkRecord record : records) {
        byte[] bytes = record.value() == null ? null : valueBytes(record.value());
        serde.prefetch(bytes);
      }
    } catch (RegistryUnavailableException e) {
      log.warn("{}; the batch of {} records is retried", e.getMessage(), records.size());
      context.timeout(RETRY_BACKOFF_MS);
      throw new RetriableException(e.getMessage(), e);
    }
    Map<String, List<Parsed>> byTopic = new LinkedHashMap<>();
    Map<TopicPartition, OffsetAndMetadata> handled = new HashMap<>();
    try (var stage = MDC.putCloseable("stage", EmbeddingSink.STAGE)) {
      for (SinkRecord record : records) {
        delivered.add(new TopicPartition(record.originalTopic(), record.originalKafkaPartition()));
        handled.put(
            new TopicPartition(record.originalTopic(), record.originalKafkaPartition()),
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
          EmbeddingIndexer.Rejection rejection =
              parsed.embedding() == null ? null : indexer.check(parsed.key(), parsed.embedding());
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
        long now = System.currentTimeMillis();
        if (unavailableSince < 0) {
          unavailableSince = now;
        }
        if (now - unavailableSince >= unavailableMaxMs) {
          // Fails the task: its status shows this, instead of RUNNING with an error in the log
          // every few seconds
          throw new ConnectException(
              "The store has not answered for "
                  + (now - unavailableSince)
                  + " ms ("
                  + LookalikeSinkConfig.UNAVAILABLE_MAX_MS_CONFIG
                  + "="
                  + unavailableMaxMs
                  + "): "
                  + e.getMessage(),
              e);
        }
        // Connect redelivers the same records after the back-off; offsets do not move meanwhile.
        context.timeout(RETRY_BACKOFF_MS);
        throw new RetriableException(e.getMessage(), e);
      }
      throw new ConnectException(e.getMessage(), e);
    } finally {
      pluginMetrics.sync();
    }
    unavailableSince = -1;
    written.putAll(handled); // only now: the store holds the batch
    skipMarkers(handled.keySet());
  }

  /**
   * Asks the worker to move each idle partition (none of its records in this batch) past the
   * markers and aborted records at its end, once {@link TransactionGap} has read that no committed
   * record lies between the last record written and the end. Connect's {@code
   * SinkTaskContext.offset} seeks its consumer there and takes it as the partition's current offset
   * (WorkerSinkTask.rewind), so {@link #preCommit} may then report it. The consumer's position is
   * never past that end (it only reads up to the LSO, which only grows), so the seek only skips the
   * range that was read. The worker applies the move at the start of its next poll, before any
   * rebalance that poll may bring, so it never seeks a partition it no longer holds.
   */
  private void skipMarkers(Set<TopicPartition> busy) {
    if (gap == null) {
      return;
    }
    long now = System.nanoTime();
    for (Map.Entry<TopicPartition, OffsetAndMetadata> entry : written.entrySet()) {
      TopicPartition partition = entry.getKey();
      Long checked = lastGapCheck.get(partition);
      if (busy.contains(partition)
          || skipping.containsKey(partition)
          || (checked != null && now - checked < GAP_CHECK_INTERVAL_NS)) {
        continue;
      }
      lastGapCheck.put(partition, now);
      try {
        OptionalLong end = gap.skippableTo(partition, entry.getValue().offset());
        if (end.isPresent()) {
          log.debug(
              "Moving {} from {} past its transaction markers to {}",
              partition,
              entry.getValue().offset(),
              end.getAsLong());
          context.offset(partition, end.getAsLong());
          skipping.put(partition, end.getAsLong());
        }
      } catch (KafkaException e) {
        log.debug("Cannot read the end of {} (committing up to its last record)", partition, e);
      }
    }
  }

  @Override
  public Map<TopicPartition, OffsetAndMetadata> preCommit(
      Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
    // put and preCommit run on the task's one thread: every write behind `written` has returned
    for (EmbeddingIndexer indexer : indexers.values()) {
      indexer.store().flush(); // a failure throws: the worker commits nothing this time
    }
    Map<TopicPartition, OffsetAndMetadata> durable = new HashMap<>();
    for (Map.Entry<TopicPartition, OffsetAndMetadata> current : currentOffsets.entrySet()) {
      // A partition this task has written nothing to (just assigned, idle since): the worker's
      // current offset is where the group's committed offset left it, so everything below it is
      // durable, and the marker check may start there (a task restarted one behind the last
      // commit marker reaches lag 0 without waiting for a new record).
      if (gap != null && !delivered.contains(current.getKey())) {
        written.putIfAbsent(current.getKey(), current.getValue());
      }
      Long end = skipping.get(current.getKey());
      // Reported once the worker has taken the move (its current offset is there): a larger offset
      // would be ignored as "not yet consumed". The metadata makes it differ from the offset the
      // worker took as already committed, which it would otherwise skip as "no change".
      if (end != null && current.getValue().offset() >= end) {
        skipping.remove(current.getKey());
        OffsetAndMetadata last = written.get(current.getKey());
        if (last != null && last.offset() <= end) {
          written.put(current.getKey(), new OffsetAndMetadata(end, PAST_MARKERS_METADATA));
        }
      }
    }
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
    partitions.forEach(skipping::remove);
    partitions.forEach(lastGapCheck::remove);
    partitions.forEach(delivered::remove);
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
    if (gap != null) {
      gap.close();
      gap = null;
    }
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
        return reject(
            record,
            null,
            "bad_value",
            "Value is a "
                + record.value().getClass().getName()
                + "; use value.converter=org.apache.kafka.connect.converters.ByteArrayConverter",
            null);
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

  private Parsed reject(
      SinkRecord record, EmbeddingIndexer indexer, String code, String reason, Throwable cause) {
    if (indexer != null) {
      indexer.rejected(code);
    } else {
      // before its model is known (a bad key, a value that is not an embedding): counted under
      // model "unknown"
      io.micrometer.core.instrument.Counter.builder(EmbeddingIndexer.REJECTED_METRIC)
          .tag("model", "unknown")
          .tag("reason", code)
          .description("Records dead-lettered instead of indexed")
          .register(registry)
          .increment();
    }
    DataException error = new DataException(code + ": " + reason, cause);
    if (!tolerateAll) {
      // Connect's rule for errors.tolerance=none: the task fails, and fails again on this record
      // after a restart
      log.error(
          "Failing the task on record {}-{}@{}: {} (set errors.tolerance=all and "
              + "errors.deadletterqueue.topic.name to dead-letter bad records instead)",
          record.topic(),
          record.kafkaPartition(),
          record.kafkaOffset(),
          reason);
      throw error;
    }
    if (reporter == null) {
      log.warn(
          "Skipping record {}-{}@{} (errors.tolerance=all, no dead-letter queue): {}",
          record.topic(),
          record.kafkaPartition(),
          record.kafkaOffset(),
          reason);
      return null;
    }
    log.warn(
        "Dead-lettering record {}-{}@{}: {}",
        record.topic(),
        record.kafkaPartition(),
        record.kafkaOffset(),
        reason);
    // Connect writes the original record with its __connect.errors.* headers (our reason code leads
    // the
    // exception message), and waits for these writes before it commits offsets
    reporter.report(record, error);
    return null;
  }

  /**
   * The indexer of a topic, opening its store on first use. Returns null when the store does not
   * exist yet and the records hold no embedding of the topic's model (only deletes: nothing to
   * delete).
   */
  private EmbeddingIndexer indexerFor(String topic, List<Parsed> records) {
    EmbeddingIndexer indexer = indexers.get(topic);
    if (indexer != null) {
      return indexer;
    }
    String configured = config.modelIdOf(topic);
    ImageEmbedding first =
        records.stream()
            .map(Parsed::embedding)
            .filter(java.util.Objects::nonNull)
            .filter(e -> configured == null || configured.equals(e.getModelId()))
            .findFirst()
            .orElse(null);
    String modelId = configured != null ? configured : first == null ? null : first.getModelId();
    if (modelId == null) {
      return null;
    }
    OptionalInt dimension = config.dimensionOf(modelId);
    if (dimension.isEmpty()) {
      if (first == null) {
        log.info(
            "Skipping {} deletes from {}: the index of model {} does not exist yet",
            records.size(),
            topic,
            modelId);
        return null;
      }
      dimension =
          OptionalInt.of(
              first.getVector().size()); // set model.dimension to not trust the first record
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
