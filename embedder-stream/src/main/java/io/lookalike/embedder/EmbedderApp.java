package io.lookalike.embedder;

import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.model.ModelInfo;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.Topics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedder Kafka Streams app, exactly-once: {@code product-images} to {@code
 * image-embeddings.<modelId>}, one app id per model. It does not own the {@link Embedder}.
 */
public final class EmbedderApp implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbedderApp.class);

  private final KafkaStreams streams;
  private final KafkaStreamsMetrics streamsMetrics;
  private final MeterRegistry registry;

  /**
   * @param config {@link EmbedderConfig} keys plus any Kafka Streams keys (bootstrap.servers at
   *     least); application.id defaults to {@code lookalike-embedder-<modelId>}
   */
  public EmbedderApp(Map<String, Object> config, Embedder embedder, MeterRegistry registry) {
    EmbedderConfig embedderConfig = new EmbedderConfig(config);
    this.registry = registry;
    Topology topology =
        buildTopology(
            new StreamsBuilder(), embedderConfig.topics(), embedder, embedderConfig, registry);
    this.streams =
        new KafkaStreams(topology, streamsProperties(config, embedder.model(), embedderConfig));
    this.streamsMetrics = new KafkaStreamsMetrics(streams);
  }

  /**
   * The buffer changelog's compaction bound. Every buffered image is deleted (a tombstone) once its
   * batch is embedded, so compaction drops its bytes, but only from a rolled segment, and a segment
   * rolls at 1 GiB by default: each model's changelog kept a copy of every photo (103 MB beside 103
   * MB of product-images). Rolled every 16 MiB or 10 minutes and cleaned as soon as a tenth is
   * dirty, the changelog holds at most about two segments (32 MiB) per partition plus the last 10
   * minutes of images, whatever the catalog's size.
   */
  public static final Map<String, String> BUFFER_CHANGELOG_CONFIG =
      Map.of(
          TopicConfig.SEGMENT_BYTES_CONFIG, Integer.toString(16 * 1024 * 1024),
          TopicConfig.SEGMENT_MS_CONFIG, Long.toString(10 * 60 * 1000L),
          TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG, "0.1",
          TopicConfig.DELETE_RETENTION_MS_CONFIG, Long.toString(10 * 60 * 1000L));

  /** The topology, with meters in the global registry. */
  public static Topology buildTopology(
      StreamsBuilder builder, Topics topics, Embedder embedder, EmbedderConfig config) {
    return buildTopology(builder, topics, embedder, config, Metrics.globalRegistry);
  }

  public static Topology buildTopology(
      StreamsBuilder builder,
      Topics topics,
      Embedder embedder,
      EmbedderConfig config,
      MeterRegistry registry) {
    String embeddingsTopic = topics.embeddings(embedder.model().modelId());
    // The buffer holds whole images: its changelog must take records as large as the input's, and
    // it is
    // compacted on a bound (BUFFER_CHANGELOG_CONFIG) so that it does not keep a second copy of the
    // catalog.
    Map<String, String> bigRecords = new java.util.HashMap<>(BUFFER_CHANGELOG_CONFIG);
    bigRecords.put(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(config.maxRecordBytes()));
    // The buffer is small (one batch) and short-lived: in memory, restored from its changelog after
    // a crash,
    // which saves a RocksDB write and flush per image.
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
                Stores.inMemoryKeyValueStore(EmbeddingBatcher.BUFFER_STORE),
                Serdes.String(),
                Serdes.ByteArray())
            .withLoggingEnabled(bigRecords));
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(EmbeddingBatcher.VECTOR_STORE),
                Serdes.String(),
                Serdes.ByteArray())
            .withLoggingEnabled(Map.of()));
    // Values are read as bytes so that an undecodable record can be dead-lettered with its original
    // bytes.
    builder.stream(
            topics.productImages(),
            Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("images"))
        .process(
            () ->
                new EmbeddingBatcher(
                    embedder,
                    topics.productImages(),
                    topics.deadLetters(),
                    config.batchMaxSize(),
                    config.batchMaxWaitMs(),
                    registry),
            Named.as("embed"),
            EmbeddingBatcher.BUFFER_STORE,
            EmbeddingBatcher.VECTOR_STORE)
        .to(
            (key, value, context) ->
                DeadLetters.header(context.headers(), DeadLetters.STAGE) != null
                    ? topics.deadLetters()
                    : embeddingsTopic,
            Produced.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("out"));
    return builder.build();
  }

  static Properties streamsProperties(
      Map<String, Object> config, ModelInfo model, EmbedderConfig embedderConfig) {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "lookalike-embedder-" + model.modelId());
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    // Images of 1-2 MB come in, and go out again to the dead-letter topic and the buffer's
    // changelog.
    int max = embedderConfig.maxRecordBytes();
    props.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), max);
    props.put(
        StreamsConfig.producerPrefix(ProducerConfig.BUFFER_MEMORY_CONFIG),
        Math.max(32 << 20, 4L * max));
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG), max);
    props.put(
        StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MAX_BYTES_CONFIG),
        Math.max(64 << 20, 2 * max));
    // A transaction stays open while a batch is embedded: a slow CPU (32 images at 4/s when busy)
    // must not
    // outlast it, or the broker aborts it and the work is redone. A crashed instance's open
    // transaction holds
    // back read_committed readers for this long.
    props.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 30_000);
    // A poll's worth of images takes a while to embed on a CPU.
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 200);
    Map<String, Object> rest = new HashMap<>(config);
    EmbedderConfig.CONFIG_DEF.names().forEach(rest::remove);
    EmbeddingModelConfig.CONFIG_DEF.names().forEach(rest::remove);
    rest.remove(Topics.PRODUCT_EVENTS_CONFIG);
    props.putAll(rest);
    return props;
  }

  public void start() {
    streams.setUncaughtExceptionHandler(
        e -> {
          log.error(
              "Stream thread failed; replacing it (exactly-once: its transaction is aborted and retried)",
              e);
          return StreamThreadExceptionResponse.REPLACE_THREAD;
        });
    streamsMetrics.bindTo(registry);
    streams.start();
  }

  public KafkaStreams streams() {
    return streams;
  }

  @Override
  public void close() {
    streams.close(Duration.ofSeconds(30));
    streamsMetrics.close();
  }
}
