package io.lookalike.indexer.connect;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Finds how far a sink may move its committed offset past the transaction markers (and aborted
 * records) that end a partition of a transactional topic, which Connect never delivers and so never
 * commits past (lag 1 forever).
 *
 * <p>{@link #skippableTo} reads, with its own read_committed consumer (no group), the range from
 * the task's position to the partition's last stable offset (LSO, the end under read_committed) and
 * answers that end only when the range holds no committed record. Records appended after the check
 * get offsets at or past the log end at check time, which is at or past that LSO, so moving to it
 * never skips them; a transaction still open at check time holds the LSO before its first record,
 * so its records are never skipped either (TransactionGapIT checks both).
 */
final class TransactionGap implements AutoCloseable {

  private static final java.util.concurrent.atomic.AtomicInteger INSTANCES =
      new java.util.concurrent.atomic.AtomicInteger();

  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Duration timeout;

  /**
   * A checker connecting with {@code settings} (bootstrap.servers and security); it reads
   * read_committed and commits nothing.
   */
  TransactionGap(Map<String, Object> settings, Duration timeout) {
    Map<String, Object> config = new HashMap<>(settings);
    config.remove(ConsumerConfig.GROUP_ID_CONFIG);
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    // A position below the log start (records deleted by retention) is an error, never a jump to
    // the
    // end past records the worker would still deliver from the log start
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
    config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    // one per task: a client id of its own, or the worker logs a clash of their JMX MBeans
    config.put(
        ConsumerConfig.CLIENT_ID_CONFIG,
        config.getOrDefault(ConsumerConfig.CLIENT_ID_CONFIG, "lookalike-sink-transaction-gap")
            + "-"
            + INSTANCES.incrementAndGet());
    this.consumer = new KafkaConsumer<>(config);
    this.timeout = timeout;
  }

  /**
   * The LSO of {@code partition} when it is past {@code position} and no committed record lies in
   * [position, LSO); empty when there is nothing to skip, a record to deliver, or no answer in
   * time.
   */
  OptionalLong skippableTo(TopicPartition partition, long position) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Long end = consumer.endOffsets(List.of(partition), timeout).get(partition);
    if (end == null || end <= position) {
      return OptionalLong.empty();
    }
    consumer.assign(List.of(partition));
    consumer.seek(partition, position);
    // The consumer's position moves past markers and aborted batches as it fetches them; a record
    // it returns below the end is a committed record the worker has yet to deliver.
    while (consumer.position(partition, timeout) < end) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return OptionalLong.empty();
      }
      for (ConsumerRecord<byte[], byte[]> record :
          consumer.poll(Duration.ofNanos(Math.min(left, Duration.ofMillis(200).toNanos())))) {
        if (record.offset() < end) {
          return OptionalLong.empty();
        }
      }
    }
    return OptionalLong.of(end);
  }

  @Override
  public void close() {
    consumer.close();
  }
}
