package io.lookalike.schemas;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

/**
 * How much of a topic a consumer group has read, from its committed offsets and the topic's start
 * and end offsets (read_committed, so transaction markers are not counted as work left): the
 * embedder's replay and the sink's lag.
 *
 * @param done records (every version and tombstone) the group has committed past
 * @param total records in the topic now
 */
public record GroupProgress(long done, long total) {

  /** Records not yet read: 0 when the group has caught up. */
  public long lag() {
    return total - done;
  }

  /** Asks the brokers; a group that committed nothing yet has done 0. */
  public static GroupProgress of(Admin admin, String topic, String group, Duration timeout)
      throws Exception {
    long ms = timeout.toMillis();
    List<TopicPartition> parts =
        admin
            .describeTopics(List.of(topic))
            .allTopicNames()
            .get(ms, TimeUnit.MILLISECONDS)
            .get(topic)
            .partitions()
            .stream()
            .map(p -> new TopicPartition(topic, p.partition()))
            .toList();
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin
            .listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata()
            .get(ms, TimeUnit.MILLISECONDS);
    Map<TopicPartition, Long> starts = offsets(admin, parts, OffsetSpec.earliest(), ms);
    Map<TopicPartition, Long> ends = offsets(admin, parts, OffsetSpec.latest(), ms);
    long done = 0;
    long total = 0;
    for (TopicPartition p : parts) {
      OffsetAndMetadata offset = committed.get(p);
      long start = starts.get(p);
      long end = ends.get(p);
      total += end - start;
      done += Math.min(end, Math.max(start, offset == null ? start : offset.offset())) - start;
    }
    return new GroupProgress(done, total);
  }

  private static Map<TopicPartition, Long> offsets(
      Admin admin, List<TopicPartition> partitions, OffsetSpec spec, long ms) throws Exception {
    Map<TopicPartition, OffsetSpec> request =
        partitions.stream().collect(Collectors.toMap(p -> p, p -> spec));
    return admin
        .listOffsets(request, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
        .all()
        .get(ms, TimeUnit.MILLISECONDS)
        .entrySet()
        .stream()
        .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
  }
}
