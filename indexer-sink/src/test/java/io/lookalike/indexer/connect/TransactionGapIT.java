package io.lookalike.indexer.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.testkit.KafkaBroker;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * {@link TransactionGap} on a real broker: it skips markers and aborted records, never a committed
 * record, nor the records of a transaction still open when it looked (the race with appends).
 */
class TransactionGapIT {

  private static final String TOPIC = "gap";
  private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);

  @Test
  void skipsOnlyMarkersAndAbortedRecordsNeverARecordToDeliver() throws Exception {
    try (KafkaBroker kafka = KafkaBroker.start()) {
      kafka.createTopics(1, TOPIC);
      try (KafkaProducer<byte[], byte[]> producer = transactional(kafka, "gap-it");
          TransactionGap gap =
              new TransactionGap(
                  Map.of("bootstrap.servers", kafka.bootstrapServers()), Duration.ofSeconds(10))) {
        producer.initTransactions();
        // Given a committed transaction of 3 records: offsets 0..2, its marker at 3
        producer.beginTransaction();
        long last = 0;
        for (int i = 0; i < 3; i++) {
          last = send(producer, i).offset();
        }
        producer.commitTransaction();
        assertThat(last).isEqualTo(2);

        // Then from before a committed record nothing is skipped, from after the last one the end
        assertThat(gap.skippableTo(P0, 0)).isEmpty();
        assertThat(gap.skippableTo(P0, 2)).isEmpty();
        awaitSkippable(gap, 3, 4);
        assertThat(gap.skippableTo(P0, 4)).isEmpty(); // at the end already

        // When an aborted transaction follows (offsets 4..5, abort marker 6)
        producer.beginTransaction();
        send(producer, 10);
        send(producer, 11);
        producer.abortTransaction();
        // Then its records and both markers are skipped
        awaitSkippable(gap, 3, 7);

        // When a transaction is open at the time of the check (its records appended, not decided)
        producer.beginTransaction();
        long open = send(producer, 20).offset();
        OptionalLong during = gap.skippableTo(P0, 7);
        // Then the end it answers (the LSO) stops before the open transaction's first record
        assertThat(during).isEmpty();
        producer.commitTransaction();
        // and once committed that record is one to deliver, never skipped
        assertThat(open).isEqualTo(7);
        assertThat(gap.skippableTo(P0, 7)).isEmpty();
        awaitSkippable(gap, 8, 9);

        // When a record is appended right after a check answered, it lies at or past that answer
        OptionalLong answered = gap.skippableTo(P0, 8);
        producer.beginTransaction();
        long appended = send(producer, 30).offset();
        producer.commitTransaction();
        assertThat(answered).isEqualTo(OptionalLong.of(9));
        assertThat(appended).isGreaterThanOrEqualTo(answered.getAsLong());
        assertThat(gap.skippableTo(P0, appended)).isEmpty();
        awaitSkippable(gap, appended + 1, appended + 2);
      }
    }
  }

  /**
   * Awaits the answer {@code end} from {@code position}: a transaction's markers reach its
   * partitions shortly after commitTransaction/abortTransaction return, and until then the LSO (so
   * the answer) is lower, never higher.
   */
  private static void awaitSkippable(TransactionGap gap, long position, long end) {
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              OptionalLong answer = gap.skippableTo(P0, position);
              assertThat(answer.orElse(position)).isLessThanOrEqualTo(end);
              assertThat(answer).isEqualTo(OptionalLong.of(end));
            });
  }

  private static KafkaProducer<byte[], byte[]> transactional(KafkaBroker kafka, String id) {
    return new KafkaProducer<>(
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            kafka.bootstrapServers(),
            ProducerConfig.TRANSACTIONAL_ID_CONFIG,
            id,
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
            ByteArraySerializer.class,
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
            ByteArraySerializer.class));
  }

  private static RecordMetadata send(KafkaProducer<byte[], byte[]> producer, int i)
      throws Exception {
    return producer
        .send(new ProducerRecord<>(TOPIC, 0, new byte[] {(byte) i}, new byte[] {1}))
        .get();
  }
}
