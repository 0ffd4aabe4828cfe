package io.lookalike.indexer;

import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.GroupProgress;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.AvroValueSerde;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.lookalike.store.VectorStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The embedded indexer: consumes {@code catalog.image-embeddings.<modelId>} and writes each polled
 * batch to a {@link VectorStore} (searchable when the write returns), committing offsets only once
 * the batch is durable.
 *
 * <p>Why nothing acknowledged to Kafka can be lost: this one thread writes a batch, and only later,
 * after a {@link VectorStore#flush} that began after that write returned, commits the offsets of
 * the batches written before the flush ({@code pending}). A flush makes every write that returned
 * before it durable, so each committed offset covers only durable records. A crash loses at most
 * the batches written since the last flush, whose offsets were not committed: they are read again
 * and, writes being idempotent and version-guarded, end in the same index. Flushing once per
 * {@value #COMMIT_INTERVAL_MS_CONFIG} instead of once per batch is what lets Lucene index thousands
 * of vectors a second (a commit fsyncs every new file).
 */
public final class EmbeddingSink implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbeddingSink.class);

  public static final String STAGE = "indexer";

  public static final String BOOTSTRAP_SERVERS_CONFIG = ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG;
  private static final String BOOTSTRAP_SERVERS_DOC =
      "Kafka brokers to read embeddings from and write dead letters to.";
  public static final String GROUP_ID_CONFIG = ConsumerConfig.GROUP_ID_CONFIG;
  private static final String GROUP_ID_DOC =
      "Consumer group of the indexer; default lookalike-indexer-<modelId>.";
  public static final String BATCH_MAX_SIZE_CONFIG = "indexer.batch.max.size";
  private static final String BATCH_MAX_SIZE_DOC =
      "Most records written to the store in one batch (searchable once written; durable at the next commit, see indexer.commit.interval.ms); also the consumer's max.poll.records.";
  public static final String COMMIT_INTERVAL_MS_CONFIG = "indexer.commit.interval.ms";
  private static final String COMMIT_INTERVAL_MS_DOC =
      "Most time between two durable commits of the store (a Lucene commit, which fsyncs), each"
          + " followed by the commit of the offsets it covers; batches are searchable before. Also"
          + " committed when the topic goes idle, on a rebalance and at close. Larger: fewer"
          + " fsyncs, more to re-read after a crash.";
  public static final String POLL_TIMEOUT_MS_CONFIG = "indexer.poll.timeout.ms";
  private static final String POLL_TIMEOUT_MS_DOC =
      "How long one poll of the embeddings topic waits for records.";

  public static final ConfigDef CONFIG_DEF =
      SchemaRegistryConfig.addTo(
              Topics.configDef(Topics.DEAD_LETTERS_CONFIG, Topics.EMBEDDINGS_PREFIX_CONFIG))
          .define(
              BOOTSTRAP_SERVERS_CONFIG,
              Type.LIST,
              ConfigDef.NO_DEFAULT_VALUE,
              Importance.HIGH,
              BOOTSTRAP_SERVERS_DOC)
          .define(GROUP_ID_CONFIG, Type.STRING, null, Importance.MEDIUM, GROUP_ID_DOC)
          .define(
              BATCH_MAX_SIZE_CONFIG,
              Type.INT,
              500,
              Range.between(1, 100_000),
              Importance.MEDIUM,
              BATCH_MAX_SIZE_DOC)
          .define(
              COMMIT_INTERVAL_MS_CONFIG,
              Type.LONG,
              1000L,
              Range.atLeast(0),
              Importance.LOW,
              COMMIT_INTERVAL_MS_DOC)
          .define(
              POLL_TIMEOUT_MS_CONFIG,
              Type.LONG,
              500L,
              Range.atLeast(1),
              Importance.LOW,
              POLL_TIMEOUT_MS_DOC);

  private static final long MAX_BACKOFF_MS = 30_000;
  private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(10);

  private final EmbeddingIndexer indexer;
  private final AvroValueSerde<ImageEmbedding> serde;
  private final String topic;
  private final String deadLetterTopic;
  private final String groupId;
  private final String instanceId;
  private final Duration pollTimeout;
  private final long commitIntervalNanos;

  /** Offsets of batches written to the store and not yet covered by a flush; this thread only. */
  private final Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();

  private long lastCommitNanos = System.nanoTime();
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaProducer<byte[], byte[]> producer;
  private final Admin admin;
  private final Thread thread;
  private volatile boolean running = true;

  public EmbeddingSink(Map<String, Object> config, VectorStore store, MeterRegistry registry) {
    this(config, store, registry, null);
  }

  /**
   * @param liveSince when the index started following the catalog; older changes count as replay
   *     progress, not freshness (see {@link EmbeddingIndexer#EmbeddingIndexer(VectorStore,
   *     MeterRegistry, java.time.Instant)})
   */
  public EmbeddingSink(
      Map<String, Object> config,
      VectorStore store,
      MeterRegistry registry,
      java.time.Instant liveSince) {
    AbstractConfig parsed = new AbstractConfig(CONFIG_DEF, config, false);
    // Reads embeddings in any Avro encoding; value.format does not matter to a reader.
    this.serde =
        Serdes.imageEmbeddingReader(new SchemaRegistryConfig(parsed.originals()).clientOrNull());
    Topics topics = Topics.from(config);
    this.indexer = new EmbeddingIndexer(store, registry, liveSince);
    this.topic = topics.embeddings(store.modelId());
    this.deadLetterTopic = topics.deadLetters();
    String group = parsed.getString(GROUP_ID_CONFIG);
    this.groupId =
        group == null || group.isBlank() ? "lookalike-indexer-" + store.modelId() : group;
    this.pollTimeout = Duration.ofMillis(parsed.getLong(POLL_TIMEOUT_MS_CONFIG));
    this.commitIntervalNanos =
        Duration.ofMillis(parsed.getLong(COMMIT_INTERVAL_MS_CONFIG)).toNanos();

    Map<String, Object> consumerProps = only(config, ConsumerConfig.configNames());
    consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    consumerProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    consumerProps.put(
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, IsolationLevel.READ_COMMITTED.toString());
    consumerProps.putIfAbsent(
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"); // a new index reads it all
    consumerProps.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, parsed.getInt(BATCH_MAX_SIZE_CONFIG));
    consumerProps.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    consumerProps.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    Map<String, Object> producerProps = only(config, ProducerConfig.configNames());
    producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
    producerProps.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    producerProps.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);

    Object instance = consumerProps.get(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
    if (instance != null && instance.toString().isBlank()) {
      consumerProps.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG); // empty: static membership off
      instance = null;
    }
    this.instanceId = instance == null ? null : instance.toString();
    this.consumer = new KafkaConsumer<>(consumerProps);
    this.producer = new KafkaProducer<>(producerProps);
    this.admin = Admin.create(only(config, AdminClientConfig.configNames()));
    this.thread = new Thread(this::run, "lookalike-indexer-" + store.modelId());
  }

  /** Starts consuming in a thread of its own. */
  public void start() {
    thread.start();
  }

  public String topic() {
    return topic;
  }

  public String groupId() {
    return groupId;
  }

  /**
   * Records on the embeddings topic not yet written to the store (end offsets minus committed
   * offsets), or -1 when it cannot be told (broker unreachable, topic missing).
   */
  public long lag() {
    try {
      return GroupProgress.of(admin, topic, groupId, ADMIN_TIMEOUT).lag();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    } catch (Exception e) {
      log.debug("Cannot tell the lag of {} on {}", groupId, topic, e);
      return -1;
    }
  }

  /** True when every record of the embeddings topic has been written to the store. */
  public boolean caughtUp() {
    return lag() == 0;
  }

  @Override
  public void close() {
    running = false; // the thread finishes its batch, commits, and stops after at most one poll
    join(pollTimeout.plusSeconds(30));
    if (thread.isAlive()) {
      consumer
          .wakeup(); // stuck on an unreachable broker: give up on this batch, it will be replayed
      join(Duration.ofSeconds(30));
    }
    if (!thread.isAlive()) {
      consumer.close(); // the thread closes it too; a second close is a no-op
    }
    producer.close();
    admin.close();
  }

  private void join(Duration timeout) {
    if (thread.isAlive()) {
      try {
        thread.join(timeout.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void run() {
    try (var stage = MDC.putCloseable("stage", STAGE)) {
      consumer.subscribe(
          List.of(topic),
          new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
              try {
                commitDurable(); // still ours: hand them over with what is written committed
              } catch (RuntimeException e) {
                // the next owner re-reads from the last committed offsets: nothing is lost
                log.warn("Cannot commit {} before handing it over", partitions, e);
                partitions.forEach(pending::remove);
              }
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
              partitions.forEach(pending::remove); // another member re-reads them; nothing lost
            }
          });
      log.info(
          "Indexing {} into {} as group {}{}",
          topic,
          indexer.store(),
          groupId,
          instanceId == null ? "" : ", static member " + instanceId);
      int failures = 0;
      while (running) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(pollTimeout);
        try {
          if (records.isEmpty()) {
            commitDurable(); // idle: no reason to wait, and the lag reads 0 once caught up
            continue;
          }
          process(records);
          for (TopicPartition partition : records.partitions()) {
            // the position, not the last offset + 1: it is past transaction markers, so the lag
            // reaches 0
            pending.put(partition, new OffsetAndMetadata(consumer.position(partition)));
          }
          if (System.nanoTime() - lastCommitNanos >= commitIntervalNanos) {
            commitDurable();
          }
          failures = 0;
        } catch (WakeupException e) {
          throw e;
        } catch (RuntimeException e) {
          // The store or the dead-letter topic failed, not the records: replay the batch once it is
          // back.
          failures++;
          long backoff = Math.min(MAX_BACKOFF_MS, 500L << Math.min(failures, 10));
          log.warn(
              "Retry {} of the batch of {} records from {} in {} ms",
              failures,
              records.count(),
              topic,
              backoff,
              e);
          rewind();
          pause(backoff);
        }
      }
    } catch (WakeupException e) {
      if (running) {
        log.error("Indexer of {} woken up unexpectedly", topic, e);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.error("Indexer of {} stopped", topic, e);
    } finally {
      try {
        commitDurable();
      } catch (RuntimeException e) {
        log.warn("Cannot commit the last batches of {}; they will be re-read", topic, e);
      }
      // Leave even as a static member (group.instance.id), which a plain close does not: a stopped
      // indexer's partitions move at once and its group can be deleted.
      consumer.close(
          org.apache.kafka.clients.consumer.CloseOptions.groupMembershipOperation(
              org.apache.kafka.clients.consumer.CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
      log.info("Stopped indexing {}", topic);
    }
  }

  /**
   * Makes every batch written so far durable, then commits their offsets: the only place offsets
   * are committed (see the class comment for why this loses nothing).
   */
  private void commitDurable() {
    if (pending.isEmpty()) {
      return;
    }
    indexer.store().flush();
    consumer.commitSync(pending);
    pending.clear();
    lastCommitNanos = System.nanoTime();
  }

  private void process(ConsumerRecords<byte[], byte[]> records) {
    // Every writer schema first: a registry that cannot be asked fails the batch (replayed after a
    // back-off) before any of it is dead-lettered, so a replay writes no dead letter twice.
    for (ConsumerRecord<byte[], byte[]> record : records) {
      serde.prefetch(record.value());
    }
    List<EmbeddingIndexer.Change> changes = new ArrayList<>(records.count());
    List<Future<RecordMetadata>> deadLetters = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      String rawKey =
          record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
      MDC.put("partition", Integer.toString(record.partition()));
      MDC.put("key", rawKey);
      try {
        ImageKey key;
        try {
          key = ImageKey.parse(rawKey);
        } catch (IllegalArgumentException e) {
          deadLetters.add(deadLetter(record, "bad_key", e.getMessage(), e));
          continue;
        }
        if (record.value() == null) {
          changes.add(new EmbeddingIndexer.Change(key, null));
          continue;
        }
        ImageEmbedding embedding;
        try {
          embedding = serde.deserialize(record.value());
        } catch (SerializationException e) {
          deadLetters.add(deadLetter(record, "corrupt_record", e.getMessage(), e));
          continue;
        }
        EmbeddingIndexer.Rejection rejection = indexer.check(key, embedding);
        if (rejection != null) {
          deadLetters.add(deadLetter(record, rejection.code(), rejection.reason(), null));
          continue;
        }
        changes.add(new EmbeddingIndexer.Change(key, embedding));
      } finally {
        MDC.remove("partition");
        MDC.remove("key");
      }
    }
    for (Future<RecordMetadata> sent : deadLetters) {
      try {
        sent.get(); // dead letters must be safe before the offsets move on
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("Interrupted while writing dead letters", e);
      } catch (Exception e) {
        throw new IllegalStateException(
            "Cannot write to the dead-letter topic " + deadLetterTopic, e);
      }
    }
    VectorStore.WriteResult result = indexer.index(changes);
    log.debug("Indexed {} records from {}: {}", records.count(), topic, result);
  }

  private Future<RecordMetadata> deadLetter(
      ConsumerRecord<byte[], byte[]> record, String code, String reason, Throwable error) {
    log.warn(
        "Dead-lettering record {}-{}@{}: {}",
        record.topic(),
        record.partition(),
        record.offset(),
        reason);
    indexer.rejected(code);
    return producer.send(
        DeadLetters.record(
            deadLetterTopic,
            record.key(),
            record.value(),
            STAGE,
            code,
            reason,
            error,
            new DeadLetters.Source(record.topic(), record.partition(), record.offset())));
  }

  /** Sleeps, but wakes early on close; no interrupts, as they break Lucene's open files. */
  private void pause(long millis) throws InterruptedException {
    long until = System.currentTimeMillis() + millis;
    while (running && System.currentTimeMillis() < until) {
      Thread.sleep(Math.min(100, millis));
    }
  }

  private void rewind() {
    Set<TopicPartition> assigned = consumer.assignment();
    Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assigned);
    for (TopicPartition partition : assigned) {
      OffsetAndMetadata offset = committed.get(partition);
      if (offset == null) {
        consumer.seekToBeginning(List.of(partition));
      } else {
        consumer.seek(partition, offset);
      }
    }
  }

  private static Map<String, Object> only(Map<String, Object> config, Set<String> names) {
    Map<String, Object> selected = new HashMap<>();
    config.forEach(
        (key, value) -> {
          if (names.contains(key) && value != null) {
            selected.put(key, value);
          }
        });
    return selected;
  }
}
