package io.lookalike.ingest;

import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.processor.StreamPartitioner;

/**
 * Partitions the fetcher's repartition topic by productId exactly as Java's default producer
 * partitions a keyed record (murmur2 of the key bytes), so that one product's events all reach one
 * task and one state store, in order, whatever partitioner the catalog's producer used
 * (librdkafka's default is CRC32).
 */
final class ProductPartitioner implements StreamPartitioner<byte[], byte[]> {

  /** The partition of a productId's UTF-8 bytes among {@code numPartitions}. */
  static int partition(byte[] key, int numPartitions) {
    return Utils.toPositive(Utils.murmur2(key)) % numPartitions;
  }

  @Override
  public Optional<Set<Integer>> partitions(
      String topic, byte[] key, byte[] value, int numPartitions) {
    return Optional.of(Set.of(partition(key, numPartitions)));
  }
}
