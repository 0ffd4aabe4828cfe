package io.lookalike.indexer;

import static io.lookalike.indexer.Embeddings.embedding;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.schemas.AvroSerde;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.store.ClusteredVectors;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.lookalike.testkit.KafkaBroker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddingSinkIT {

  private static final String MODEL = "it_model";
  private static final int DIM = 16;
  private static final Topics TOPICS = Topics.defaults();
  private static final AvroSerde<ImageEmbedding> SERDE = Serdes.imageEmbedding();

  private static KafkaBroker broker;
  private static KafkaProducer<byte[], byte[]> producer;

  @TempDir Path dir;
  private final ClusteredVectors vectors = new ClusteredVectors(DIM, 4, 0.5f, 11);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @BeforeAll
  static void startBroker() {
    broker = KafkaBroker.start();
    broker.createCompactedTopics(3, TOPICS.embeddings(MODEL));
    broker.createTopics(1, TOPICS.deadLetters());
    producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
  }

  @AfterAll
  static void stopBroker() {
    producer.close();
    broker.close();
  }

  @Test
  void shouldIndexEmbeddingsDeadLetterBadRecordsAndResumeWithoutLossOrDuplicates()
      throws Exception {
    try (LuceneVectorStore store = LuceneVectorStore.open(dir, MODEL, DIM)) {
      // Given a sink running on an empty store
      EmbeddingSink sink = new EmbeddingSink(config(), store, registry);
      sink.start();

      // When embeddings, a corrupt record, a wrong-dimension record, more embeddings and tombstones
      // arrive
      for (int i = 0; i < 20; i++) {
        send("p" + i + "/0", embedding("p" + i + "/0", MODEL, vectors.next(), 1));
      }
      sendRaw("p100/0", "not avro".getBytes(StandardCharsets.UTF_8));
      send("p101/0", embedding("p101/0", MODEL, new float[DIM + 3], 1));
      for (int i = 20; i < 30; i++) {
        send("p" + i + "/0", embedding("p" + i + "/0", MODEL, vectors.next(), 1));
      }
      send("p0/0", null);
      send("p1/0", null);
      send("p2/0", embedding("p2/0", MODEL, vectors.next(), 2));
      producer.flush();

      // Then the live images are searchable and the bad records are dead-lettered with their
      // reasons
      await().atMost(Duration.ofSeconds(30)).until(() -> store.count() == 28 && sink.caughtUp());
      assertThat(store.get(ImageKey.parse("p0/0"))).isEmpty();
      assertThat(store.get(ImageKey.parse("p2/0")).orElseThrow().version()).isEqualTo(2);
      List<ConsumerRecord<byte[], byte[]>> deadLetters = readDeadLetters(2);
      assertThat(deadLetters)
          .extracting(r -> DeadLetters.header(r.headers(), DeadLetters.REASON_CODE))
          .containsExactlyInAnyOrder("corrupt_record", "wrong_dimension");
      assertThat(deadLetters)
          .allSatisfy(
              r -> {
                assertThat(DeadLetters.header(r.headers(), DeadLetters.STAGE)).isEqualTo("indexer");
                assertThat(DeadLetters.header(r.headers(), DeadLetters.SOURCE_TOPIC))
                    .isEqualTo(TOPICS.embeddings(MODEL));
                assertThat(DeadLetters.header(r.headers(), DeadLetters.REASON)).isNotBlank();
              });
      assertThat(deadLetters)
          .filteredOn(r -> new String(r.key(), StandardCharsets.UTF_8).equals("p100/0"))
          .singleElement()
          .satisfies(
              r -> assertThat(r.value()).isEqualTo("not avro".getBytes(StandardCharsets.UTF_8)));
      assertThat(
              registry
                  .get(EmbeddingIndexer.REJECTED_METRIC)
                  .tag("reason", "wrong_dimension")
                  .counter()
                  .count())
          .isEqualTo(1);
      assertThat(registry.get(EmbeddingIndexer.FRESHNESS_METRIC).timer().count())
          .isGreaterThanOrEqualTo(28);

      // When the sink stops, more changes arrive, and a new sink starts on the same store
      sink.close();
      for (int i = 30; i < 40; i++) {
        send("p" + i + "/0", embedding("p" + i + "/0", MODEL, vectors.next(), 1));
      }
      send("p3/0", null);
      send("p2/0", embedding("p2/0", MODEL, vectors.next(), 1)); // late, older version
      producer.flush();
      try (EmbeddingSink restarted = new EmbeddingSink(config(), store, registry)) {
        restarted.start();

        // Then nothing is lost, duplicated or overwritten by an older version
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> restarted.caughtUp() && store.count() == 37);
        assertThat(store.get(ImageKey.parse("p2/0")).orElseThrow().version()).isEqualTo(2);
        assertThat(store.imagesOf("p39")).hasSize(1);
        assertThat(registry.get(EmbeddingIndexer.STALE_METRIC).counter().count()).isEqualTo(1);
      }
    }
  }

  @Test
  void shouldCommitOffsetsOnlyOfWhatTheIndexHoldsOnDisk() throws Exception {
    String model = "it_durable"; // a topic of its own: the other test counts what its topic holds
    broker.createCompactedTopics(1, TOPICS.embeddings(model));
    try (LuceneVectorStore store = LuceneVectorStore.open(dir, model, DIM)) {
      // Given a sink whose own commit interval never comes due in this test
      Map<String, Object> config = config();
      config.put(EmbeddingSink.COMMIT_INTERVAL_MS_CONFIG, 3_600_000L);
      try (EmbeddingSink sink = new EmbeddingSink(config, store, registry)) {
        sink.start();

        // When 40 embeddings arrive
        for (int i = 0; i < 40; i++) {
          producer.send(
              new ProducerRecord<>(
                  TOPICS.embeddings(model),
                  ("d" + i + "/0").getBytes(StandardCharsets.UTF_8),
                  SERDE.serialize(embedding("d" + i + "/0", model, vectors.next(), 1))));
        }
        producer.flush();

        // Then once the group's offsets say all is indexed, the last commit on disk (what a
        // restart after a crash would open) holds every one of them
        await().atMost(Duration.ofSeconds(30)).until(sink::caughtUp);
        try (org.apache.lucene.store.Directory onDisk =
                org.apache.lucene.store.FSDirectory.open(dir);
            org.apache.lucene.index.DirectoryReader lastCommit =
                org.apache.lucene.index.DirectoryReader.open(onDisk)) {
          assertThat(store.count()).isEqualTo(40);
          assertThat(lastCommit.numDocs()).isEqualTo(40);
        }
      }
    }
  }

  private Map<String, Object> config() {
    Map<String, Object> config = new HashMap<>();
    config.put(EmbeddingSink.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    config.put(EmbeddingSink.POLL_TIMEOUT_MS_CONFIG, 100L);
    config.put(EmbeddingSink.BATCH_MAX_SIZE_CONFIG, 7);
    return config;
  }

  private static void send(String key, ImageEmbedding embedding) {
    sendRaw(key, SERDE.serialize(embedding));
  }

  private static void sendRaw(String key, byte[] value) {
    producer.send(
        new ProducerRecord<>(
            TOPICS.embeddings(MODEL), key.getBytes(StandardCharsets.UTF_8), value));
  }

  private static List<ConsumerRecord<byte[], byte[]>> readDeadLetters(int expected) {
    List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG,
                "dlq-reader",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class))) {
      consumer.subscribe(List.of(TOPICS.deadLetters()));
      long deadline = System.currentTimeMillis() + 20_000;
      while (records.size() < expected && System.currentTimeMillis() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
      }
    }
    return records;
  }
}
