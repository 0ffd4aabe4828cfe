package io.lookalike.ingest;

import io.lookalike.schemas.StreamsApp;
import io.lookalike.schemas.TopicAdmin;
import io.lookalike.schemas.Topics;
import io.lookalike.testkit.KafkaBroker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/**
 * How long the fetcher stalls while its product store ({@code fetcher-products}, one entry per
 * product) is restored from its changelog, against catalog size, and what a standby replica saves:
 *
 * <ol>
 *   <li><b>cold</b>: an instance starts on an empty state directory, which is what an instance
 *       killed -9 under exactly-once does (no checkpoint: Kafka Streams wipes its stores); time
 *       from start to every task running with nothing left to restore;
 *   <li><b>failover without a standby</b>: a second instance joins, then the first leaves; the
 *       second restores the first's partitions (half the store);
 *   <li><b>failover with a standby</b> ({@code num.standby.replicas=1}): the same, the second
 *       keeping a copy of the first's stores up to date beforehand.
 * </ol>
 *
 * Args: catalog sizes (default 10000 100000).
 */
public final class FetcherRestoreBench {

  private static final int PARTITIONS = 4;

  /** Two sub-topologies (keying and repartitioning, then fetching) of 4 partitions each. */
  private static final int ALL_TASKS = 2 * PARTITIONS;

  public static void main(String[] args) throws Exception {
    List<Integer> sizes =
        args.length > 0
            ? java.util.Arrays.stream(args).map(Integer::parseInt).toList()
            : List.of(10_000, 100_000);
    Path dir = Files.createTempDirectory("fetcher-restore-bench");
    System.out.println("keys     | cold restore | failover, no standby | failover, 1 standby");
    try (KafkaBroker broker = KafkaBroker.start()) {
      Topics topics = Topics.defaults();
      try (Admin admin = broker.admin()) {
        TopicAdmin.ensureTopics(admin, topics, PARTITIONS, (short) 1);
      }
      for (int keys : sizes) {
        String app = "restore-bench-" + keys;
        fillChangelog(broker, app, keys);
        long cold = cold(broker, dir.resolve(app + "-cold"), app);
        long failover = failover(broker, dir.resolve(app + "-failover"), app, 0);
        long standby = failover(broker, dir.resolve(app + "-standby"), app, 1);
        System.out.printf("%,8d | %,9d ms | %,17d ms | %,16d ms%n", keys, cold, failover, standby);
      }
    }
    System.exit(0);
  }

  /**
   * The changelog the fetcher's store would have after {@code keys} products, one photo each:
   * written directly, so that only the restore is timed.
   */
  private static void fillChangelog(KafkaBroker broker, String app, int keys) throws Exception {
    String changelog = app + "-" + FetcherApp.STORE_NAME + "-changelog";
    try (Admin admin = broker.admin()) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(changelog, PARTITIONS, (short) 1)
                      .configs(
                          Map.of(
                              TopicConfig.CLEANUP_POLICY_CONFIG,
                              TopicConfig.CLEANUP_POLICY_COMPACT))))
          .all()
          .get();
    }
    Properties props = broker.clientProperties();
    props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    Serializer<ProductState> values = ProductState.serde().serializer();
    long now = Instant.parse("2026-12-01T00:00:00Z").toEpochMilli();
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(
            props,
            new StringSerializer(),
            new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      for (int i = 0; i < keys; i++) {
        String id = "product-" + i;
        ProductState state =
            new ProductState(
                3,
                now + i,
                false,
                Map.of(
                    "0",
                    new ProductState.Image(
                        "https://shop.example/photos/" + id + ".jpg",
                        Integer.toHexString(id.hashCode()).repeat(8),
                        "0123456789abcdef",
                        0)));
        producer.send(
            new ProducerRecord<>(
                changelog, i % PARTITIONS, id, values.serialize(changelog, state)));
      }
    }
  }

  private static long cold(KafkaBroker broker, Path state, String app) throws Exception {
    long start = System.nanoTime();
    try (FetcherApp fetcher = fetcher(broker, state, app, 0)) {
      fetcher.start();
      awaitRestored(fetcher, ALL_TASKS);
      long took = (System.nanoTime() - start) / 1_000_000;
      fetcher.app().closeLeavingGroup();
      return took;
    }
  }

  /** Two instances; the first leaves; time until the second runs every task, all restored. */
  private static long failover(KafkaBroker broker, Path state, String app, int standbys)
      throws Exception {
    String group = app + "-" + (standbys == 0 ? "plain" : "standby");
    try (FetcherApp first = fetcher(broker, state.resolve("a"), app, standbys, group);
        FetcherApp second = fetcher(broker, state.resolve("b"), app, standbys, group)) {
      first.start();
      awaitRestored(first, ALL_TASKS);
      second.start();
      awaitRestored(second, 1);
      awaitRestored(first, 1);
      if (standbys > 0) {
        awaitStandbysCaughtUp(second);
      }
      long start = System.nanoTime();
      first.app().closeLeavingGroup();
      awaitRestored(second, ALL_TASKS);
      long took = (System.nanoTime() - start) / 1_000_000;
      second.app().closeLeavingGroup();
      return took;
    }
  }

  private static FetcherApp fetcher(KafkaBroker broker, Path state, String app, int standbys)
      throws Exception {
    return fetcher(broker, state, app, standbys, app);
  }

  /**
   * A fetcher whose application id is {@code group} but whose product store restores from {@code
   * app}'s changelog: the changelog topic is the application id's, so each run gets its own copy.
   */
  private static FetcherApp fetcher(
      KafkaBroker broker, Path state, String app, int standbys, String group) throws Exception {
    if (!group.equals(app)) {
      copyChangelog(broker, app, group);
    }
    Map<String, Object> config = new HashMap<>();
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    config.put(StreamsConfig.APPLICATION_ID_CONFIG, group);
    config.put(StreamsConfig.STATE_DIR_CONFIG, Files.createDirectories(state).toString());
    config.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, standbys);
    // A joining instance takes its half of the active tasks at once (and restores it), instead of
    // warming copies up until the next probing rebalance (10 minutes by default).
    config.put(StreamsConfig.ACCEPTABLE_RECOVERY_LAG_CONFIG, Long.MAX_VALUE);
    return new FetcherApp(config, new SimpleMeterRegistry());
  }

  private static final java.util.Set<String> copied = new java.util.HashSet<>();

  /** Copies {@code app}'s store changelog to {@code group}'s, once. */
  private static void copyChangelog(KafkaBroker broker, String app, String group) throws Exception {
    if (!copied.add(group)) {
      return;
    }
    String from = app + "-" + FetcherApp.STORE_NAME + "-changelog";
    String to = group + "-" + FetcherApp.STORE_NAME + "-changelog";
    try (Admin admin = broker.admin()) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(to, PARTITIONS, (short) 1)
                      .configs(
                          Map.of(
                              TopicConfig.CLEANUP_POLICY_CONFIG,
                              TopicConfig.CLEANUP_POLICY_COMPACT))))
          .all()
          .get();
    }
    Properties consumerProps = broker.clientProperties();
    consumerProps.put("auto.offset.reset", "earliest");
    try (var consumer =
            new org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]>(
                consumerProps,
                new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer());
        var producer =
            new KafkaProducer<byte[], byte[]>(
                broker.clientProperties(),
                new org.apache.kafka.common.serialization.ByteArraySerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      for (int p = 0; p < PARTITIONS; p++) {
        var partition = new org.apache.kafka.common.TopicPartition(from, p);
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
        long end = consumer.endOffsets(List.of(partition)).get(partition);
        while (consumer.position(partition) < end) {
          for (var record : consumer.poll(java.time.Duration.ofMillis(500))) {
            producer.send(new ProducerRecord<>(to, p, record.key(), record.value()));
          }
        }
      }
    }
  }

  /**
   * Waits until the instance runs at least {@code tasks} active tasks and restores nothing (Kafka
   * Streams reports RUNNING while it restores: {@link StreamsApp#restoring()} tells).
   */
  private static void awaitRestored(FetcherApp fetcher, int tasks) throws InterruptedException {
    long deadline = System.nanoTime() + 600_000_000_000L;
    while (System.nanoTime() < deadline) {
      KafkaStreams streams = fetcher.streams();
      if (streams.state() == KafkaStreams.State.RUNNING
          && fetcher.app().restoring().isEmpty()
          && activeTasks(streams) >= tasks) {
        return;
      }
      Thread.sleep(20);
    }
    throw new IllegalStateException("not restored within 10 minutes");
  }

  /** Active tasks of both sub-topologies (keying, then fetching with the store). */
  private static long activeTasks(KafkaStreams streams) {
    return streams.metadataForLocalThreads().stream()
        .flatMap(t -> t.activeTasks().stream())
        .map(t -> t.taskId())
        .distinct()
        .count();
  }

  /** Waits until every standby store's lag is 0. */
  private static void awaitStandbysCaughtUp(FetcherApp fetcher) throws InterruptedException {
    long deadline = System.nanoTime() + 600_000_000_000L;
    while (System.nanoTime() < deadline) {
      var lags = fetcher.streams().allLocalStorePartitionLags().get(FetcherApp.STORE_NAME);
      boolean standbys =
          fetcher.streams().metadataForLocalThreads().stream()
              .anyMatch(t -> !t.standbyTasks().isEmpty());
      if (standbys
          && lags != null
          && lags.size() >= PARTITIONS
          && lags.values().stream().allMatch(l -> l.offsetLag() == 0)) {
        return;
      }
      Thread.sleep(20);
    }
    throw new IllegalStateException("standbys not caught up within 10 minutes");
  }
}
