package io.lookalike.schemas;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a Kafka Streams app is restoring from its changelogs right now (after a crash, a state
 * directory wiped under exactly-once, or a task moved to this instance), so that {@code /health}
 * can say so, and how long each restore took, in the log.
 */
final class RestoreProgress implements StateRestoreListener {

  private static final Logger log = LoggerFactory.getLogger(RestoreProgress.class);

  /** What is being restored now: stores, changelog partitions, records done of records to do. */
  record Restoring(int stores, int partitions, long restored, long total) {
    @Override
    public String toString() {
      return "restoring %d store%s (%d changelog partition%s): %,d of %,d records"
          .formatted(
              stores,
              stores == 1 ? "" : "s",
              partitions,
              partitions == 1 ? "" : "s",
              restored,
              total);
    }
  }

  private record Key(TopicPartition changelog, String store) {}

  private static final class Partition {
    final long total;
    final long started = System.nanoTime();
    final AtomicLong restored = new AtomicLong();

    Partition(long total) {
      this.total = total;
    }
  }

  private final String app;
  private final Map<Key, Partition> active = new ConcurrentHashMap<>();

  RestoreProgress(String app) {
    this.app = app;
  }

  @Override
  public void onRestoreStart(
      TopicPartition partition, String store, long startingOffset, long endingOffset) {
    long total = Math.max(0, endingOffset - startingOffset);
    active.put(new Key(partition, store), new Partition(total));
    log.info(
        "{}: restoring store {} from {} (offsets {} to {}, up to {} records)",
        app,
        store,
        partition,
        startingOffset,
        endingOffset,
        total);
  }

  @Override
  public void onBatchRestored(
      TopicPartition partition, String store, long batchEndOffset, long numRestored) {
    Partition p = active.get(new Key(partition, store));
    if (p != null) {
      p.restored.addAndGet(numRestored);
    }
  }

  @Override
  public void onRestoreEnd(TopicPartition partition, String store, long totalRestored) {
    Partition p = active.remove(new Key(partition, store));
    log.info(
        "{}: restored store {} from {}: {} records in {} ms",
        app,
        store,
        partition,
        totalRestored,
        p == null ? -1 : (System.nanoTime() - p.started) / 1_000_000);
  }

  @Override
  public void onRestoreSuspended(TopicPartition partition, String store, long totalRestored) {
    active.remove(new Key(partition, store)); // the task moved away before its restore ended
  }

  /** What is being restored now; empty when nothing is. */
  Optional<Restoring> now() {
    if (active.isEmpty()) {
      return Optional.empty();
    }
    long restored = 0;
    long total = 0;
    java.util.Set<String> stores = new java.util.TreeSet<>();
    int partitions = 0;
    for (Map.Entry<Key, Partition> entry : active.entrySet()) {
      stores.add(entry.getKey().store());
      partitions++;
      restored += entry.getValue().restored.get();
      total += entry.getValue().total;
    }
    return partitions == 0
        ? Optional.empty()
        : Optional.of(new Restoring(stores.size(), partitions, restored, total));
  }

  /** Records still to restore, 0 when nothing is being restored. */
  long remaining() {
    return now().map(r -> Math.max(0, r.total() - r.restored())).orElse(0L);
  }
}
