package io.lookalike.embedder;

import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.model.ModelInfo;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.StreamsApp;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.AvroValueSerde;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The embedder Kafka Streams app, exactly-once: {@code product-images} to {@code
 * image-embeddings.<modelId>}, one app id per model. It does not own the {@link Embedder}.
 */
public final class EmbedderApp implements AutoCloseable {

  private final StreamsApp app;

  /**
   * @param config {@link EmbedderConfig} keys plus any Kafka Streams keys (bootstrap.servers at
   *     least); application.id defaults to {@code lookalike-embedder-<modelId>}
   */
  public EmbedderApp(Map<String, Object> config, Embedder embedder, MeterRegistry registry) {
    EmbedderConfig embedderConfig = new EmbedderConfig(config);
    Topology topology =
        buildTopology(
            new StreamsBuilder(), embedderConfig.topics(), embedder, embedderConfig, registry);
    this.app =
        new StreamsApp(
            "Embedder",
            topology,
            streamsProperties(config, embedder.model(), embedderConfig),
            registry);
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
    String photoCacheTopic = topics.embeddingCache(embedder.model().modelId());
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
    // One inference per (sha256, model) across products, images and instances: every instance
    // reads the whole photo cache topic (which the batcher writes) into this store; see
    // EmbeddingBatcher for why this, and not a repartition by sha256. The topic is its changelog.
    EmbeddingBatcher.RecentVectors recent = new EmbeddingBatcher.RecentVectors();
    // One registry client for the app: its caches of ids and schemas serve both serdes.
    SchemaRegistryConfig registryConfig = config.schemaRegistryConfig();
    SchemaRegistryClient registryClient = registryConfig.clientOrNull();
    AvroValueSerde<ProductImage> images =
        io.lookalike.schemas.Serdes.productImageReader(registryClient);
    AvroValueSerde<ImageEmbedding> embeddings =
        io.lookalike.schemas.Serdes.imageEmbedding(registryConfig, registryClient);
    embeddings.registerAtStartUp(embeddingsTopic);
    builder.addGlobalStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(EmbeddingBatcher.PHOTO_CACHE_STORE),
                Serdes.String(),
                Serdes.ByteArray())
            .withLoggingDisabled(),
        photoCacheTopic,
        Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("photo-cache"),
        () -> new PhotoCacheUpdater(recent));
    // Values are read as bytes so that an undecodable record can be dead-lettered with its original
    // bytes.
    builder.stream(
            topics.productImages(),
            Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("images"))
        .process(
            () ->
                new EmbeddingBatcher(
                    embedder,
                    images,
                    embeddings,
                    embeddingsTopic,
                    topics.productImages(),
                    topics.deadLetters(),
                    config.batchMaxSize(),
                    config.batchMaxWaitMs(),
                    recent,
                    registry),
            Named.as("embed"),
            EmbeddingBatcher.BUFFER_STORE,
            EmbeddingBatcher.VECTOR_STORE)
        .to(
            (key, value, context) ->
                DeadLetters.header(context.headers(), DeadLetters.STAGE) != null
                    ? topics.deadLetters()
                    : embeddingsTopic,
            Produced.with(Serdes.ByteArray(), Serdes.ByteArray()).withName(EmbeddingBatcher.OUT));
    Topology topology = builder.build();
    // A second child of the batcher, which forwards to each by name.
    topology.addSink(
        EmbeddingBatcher.PHOTO_CACHE_OUT,
        photoCacheTopic,
        new ByteArraySerializer(),
        new ByteArraySerializer(),
        "embed");
    return topology;
  }

  /**
   * Copies the photo cache topic into the global store; a tombstone erases a photo's vector. What
   * it has read back, this instance's {@link EmbeddingBatcher.RecentVectors} no longer needs.
   */
  private static final class PhotoCacheUpdater implements Processor<String, byte[], Void, Void> {

    private final EmbeddingBatcher.RecentVectors recent;
    private KeyValueStore<String, byte[]> store;

    PhotoCacheUpdater(EmbeddingBatcher.RecentVectors recent) {
      this.recent = recent;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
      store = context.getStateStore(EmbeddingBatcher.PHOTO_CACHE_STORE);
    }

    @Override
    public void process(Record<String, byte[]> record) {
      if (record.key() == null) {
        return;
      }
      if (record.value() == null) {
        store.delete(record.key());
      } else {
        store.put(record.key(), record.value());
      }
      recent.remove(record.key());
    }
  }

  static Properties streamsProperties(
      Map<String, Object> config, ModelInfo model, EmbedderConfig embedderConfig) {
    Map<String, Object> tuned = new HashMap<>();
    // Images of 1-2 MB come in, and go out again to the dead-letter topic and the buffer's
    // changelog.
    int max = embedderConfig.maxRecordBytes();
    tuned.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), max);
    tuned.put(
        StreamsConfig.producerPrefix(ProducerConfig.BUFFER_MEMORY_CONFIG),
        Math.max(32 << 20, 4L * max));
    tuned.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG), max);
    tuned.put(
        StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MAX_BYTES_CONFIG),
        Math.max(64 << 20, 2 * max));
    // A transaction stays open while a batch is embedded: a slow CPU (32 images at 4/s when busy)
    // must not
    // outlast it, or the broker aborts it and the work is redone. A crashed instance's open
    // transaction holds
    // back read_committed readers for this long.
    tuned.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 30_000);
    // A poll's worth of images takes a while to embed on a CPU.
    tuned.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 200);
    Set<String> ours = new HashSet<>(EmbedderConfig.CONFIG_DEF.names());
    ours.addAll(EmbeddingModelConfig.CONFIG_DEF.names());
    ours.add(Topics.PRODUCT_EVENTS_CONFIG);
    return StreamsApp.properties("lookalike-embedder-" + model.modelId(), tuned, config, ours);
  }

  public void start() {
    app.start();
  }

  public KafkaStreams streams() {
    return app.streams();
  }

  /** The scaffold: state, health, and a close that leaves the consumer group. */
  public StreamsApp app() {
    return app;
  }

  @Override
  public void close() {
    app.close();
  }
}
