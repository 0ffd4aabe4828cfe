package io.lookalike.ingest;

import static io.lookalike.ingest.FetcherTopologyTest.metadata;
import static io.lookalike.ingest.FetcherTopologyTest.upsert;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.NormalisedImage;
import io.lookalike.image.RejectedImageException;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.testkit.KafkaBroker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly-once across a stop: events whose input offsets were committed while their images were
 * still being fetched are fetched by the next instance (restored from the pending store's
 * changelog), and published exactly once.
 */
class FetcherResumeIT {

  private static final Topics TOPICS = Topics.defaults();

  @TempDir Path dir;

  @Test
  void shouldFetchEventsLeftPendingByStoppedInstanceExactlyOnce() throws Exception {
    try (KafkaBroker broker = KafkaBroker.start()) {
      broker.createTopics(1, TOPICS.productEvents(), TOPICS.deadLetters());
      broker.createCompactedTopics(1, TOPICS.productImages());
      Map<String, Object> config = new HashMap<>();
      config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
      config.put(StreamsConfig.APPLICATION_ID_CONFIG, "resume-it");

      // Given an instance whose downloads never finish, that has taken in (and committed) three
      // events
      CountDownLatch never = new CountDownLatch(1);
      ImageFetcher stuck =
          url -> {
            try {
              never.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            throw new RejectedImageException(RejectedImageException.FETCH_TIMEOUT, "stuck");
          };
      ExecutorService poolA = FetcherApp.fetchPool(4);
      KafkaStreams first = streams(stuck, poolA, config, dir.resolve("a"));
      first.start();
      try (KafkaProducer<String, ProductEvent> producer =
          new KafkaProducer<>(
              Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
              new StringSerializer(),
              Serdes.productEvent().serializer())) {
        for (String p : List.of("p1", "p2", "p3")) {
          producer.send(
              new ProducerRecord<>(
                  TOPICS.productEvents(),
                  p,
                  upsert(
                      p,
                      1,
                      metadata(p),
                      new ImageRef("0", "http://images.test/" + p + ".jpg", 0))));
        }
      }
      try (Admin admin = broker.admin()) {
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () -> {
                  OffsetAndMetadata committed =
                      admin
                          .listConsumerGroupOffsets("resume-it")
                          .partitionsToOffsetAndMetadata()
                          .get()
                          .get(new TopicPartition(TOPICS.productEvents(), 0));
                  return committed != null && committed.offset() == 3;
                });
      }
      // When it stops, and a fresh instance (empty state directory) takes over
      // (leaving the group, so that the next instance need not wait for this one's session to time
      // out)
      first.close(
          org.apache.kafka.streams.CloseOptions.timeout(Duration.ofSeconds(30))
              .withGroupMembershipOperation(
                  org.apache.kafka.streams.CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
      poolA.shutdownNow();
      ExecutorService poolB = FetcherApp.fetchPool(4);
      ImageFetcher working =
          url -> {
            byte[] bytes = url.getBytes(StandardCharsets.UTF_8);
            return new NormalisedImage(bytes, "image/jpeg", 1, 1, ImageNormaliser.sha256(bytes));
          };
      KafkaStreams second = streams(working, poolB, config, dir.resolve("b"));
      second.start();
      try (KafkaConsumer<String, byte[]> images =
          new KafkaConsumer<>(
              Map.of(
                  ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                  broker.bootstrapServers(),
                  ConsumerConfig.GROUP_ID_CONFIG,
                  "check",
                  ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                  "earliest",
                  ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                  "read_committed"),
              new StringDeserializer(),
              new ByteArrayDeserializer())) {
        images.subscribe(List.of(TOPICS.productImages()));
        List<String> keys = new ArrayList<>();
        await()
            .atMost(Duration.ofSeconds(40))
            .until(
                () -> {
                  images.poll(Duration.ofMillis(200)).forEach(r -> keys.add(r.key()));
                  return keys.size() >= 3;
                });
        images.poll(Duration.ofSeconds(1)).forEach(r -> keys.add(r.key()));

        // Then each image is published once
        assertThat(keys).containsExactlyInAnyOrder("p1/0", "p2/0", "p3/0");
      } finally {
        second.close(Duration.ofSeconds(30));
        poolB.shutdownNow();
      }
    }
  }

  private static KafkaStreams streams(
      ImageFetcher fetcher, ExecutorService pool, Map<String, Object> config, Path state) {
    Map<String, Object> props = new HashMap<>(config);
    props.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    Properties streamsProps = FetcherApp.streamsProperties(props);
    return new KafkaStreams(
        FetcherApp.buildTopology(
            new StreamsBuilder(),
            TOPICS,
            fetcher,
            new SimpleMeterRegistry(),
            new FetcherApp.Pipeline(pool, 10)),
        streamsProps);
  }
}
