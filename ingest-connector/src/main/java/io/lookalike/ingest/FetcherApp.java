package io.lookalike.ingest;

import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.StreamsApp;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.AvroValueSerde;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes.ByteArraySerde;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * The image fetcher, a Kafka Streams app (exactly-once): {@code product-events} to {@code
 * product-images}, rejected events and images to {@code dead-letters}.
 */
public final class FetcherApp implements AutoCloseable {

  public static final String DEFAULT_APPLICATION_ID = "lookalike-fetcher";
  public static final String STORE_NAME = "fetcher-products";

  /** Events taken in whose images are still being fetched (see {@link FetcherProcessor}). */
  public static final String PENDING_STORE_NAME = "fetcher-pending";

  /**
   * Records carry image bytes: let the producer send up to this much (the broker's
   * message.max.bytes must match).
   */
  public static final int MAX_REQUEST_SIZE = 16 * 1024 * 1024;

  private static final String SOURCE = "product-events";
  private static final String KEYER = "key-by-product";

  /** The repartition topic is {@link #repartitionTopic()}. */
  public static final String REPARTITION = "product-events-by-product";

  private static final String PROCESSOR = "fetcher";
  private static final String IMAGES_SINK = "product-images";
  private static final String DEAD_LETTER_SINK = "dead-letters";

  private final StreamsApp app;
  private final ExecutorService fetchPool;

  /**
   * How the fetcher overlaps downloads: the executor that downloads and normalises images, and the
   * most product events per stream task in flight at once (results are still applied in arrival
   * order).
   */
  public record Pipeline(Executor executor, int maxEventsInFlight) {
    /**
     * One event at a time, its images fetched on the stream thread (for tests driving the
     * topology).
     */
    public static Pipeline sequential() {
      return new Pipeline(Runnable::run, 1);
    }
  }

  /**
   * @param config Kafka Streams settings ({@code bootstrap.servers}, {@code state.dir}, optional
   *     {@code application.id}) and {@link FetcherConfig} keys, in one map
   */
  public FetcherApp(Map<String, Object> config, MeterRegistry registry) {
    FetcherConfig fetcherConfig = new FetcherConfig(config);
    ImageFetcher fetcher =
        ImageFetcher.of(ImageDownloader.from(fetcherConfig), ImageNormaliser.from(fetcherConfig));
    this.fetchPool = fetchPool(fetcherConfig.getInt(FetcherConfig.FETCH_CONCURRENCY_CONFIG));
    try {
      Pipeline pipeline =
          new Pipeline(
              fetchPool, fetcherConfig.getInt(FetcherConfig.FETCH_PIPELINE_MAX_EVENTS_CONFIG));
      SchemaRegistryConfig registryConfig = fetcherConfig.schemaRegistryConfig();
      SchemaRegistryClient registryClient = registryConfig.clientOrNull();
      AvroValueSerde<ProductImage> images = Serdes.productImage(registryConfig, registryClient);
      images.registerAtStartUp(fetcherConfig.topics().productImages());
      Topology topology =
          buildTopology(
              new StreamsBuilder(),
              fetcherConfig.topics(),
              fetcher,
              registry,
              pipeline,
              new ProductEventDecoder(registryClient),
              images);
      this.app = new StreamsApp("Fetcher", topology, streamsProperties(config), registry);
    } catch (RuntimeException e) {
      fetchPool.shutdownNow();
      throw e;
    }
  }

  /** A fixed pool of daemon threads named {@code lookalike-fetch-N}. */
  static ExecutorService fetchPool(int threads) {
    AtomicInteger n = new AtomicInteger();
    return Executors.newFixedThreadPool(
        threads,
        r -> {
          Thread t = new Thread(r, "lookalike-fetch-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
  }

  /** The topology, one event at a time, with the metrics in Micrometer's global registry. */
  public static Topology buildTopology(
      StreamsBuilder builder, Topics topics, ImageFetcher fetcher) {
    return buildTopology(builder, topics, fetcher, Metrics.globalRegistry);
  }

  /** The topology, one event at a time (see {@link Pipeline#sequential()}). */
  public static Topology buildTopology(
      StreamsBuilder builder, Topics topics, ImageFetcher fetcher, MeterRegistry registry) {
    return buildTopology(builder, topics, fetcher, registry, Pipeline.sequential());
  }

  public static Topology buildTopology(
      StreamsBuilder builder,
      Topics topics,
      ImageFetcher fetcher,
      MeterRegistry registry,
      Pipeline pipeline) {
    return buildTopology(builder, topics, fetcher, registry, pipeline, new ProductEventDecoder());
  }

  /**
   * @param decoder reads product events in any of their encodings (with a schema registry client,
   *     or none)
   */
  public static Topology buildTopology(
      StreamsBuilder builder,
      Topics topics,
      ImageFetcher fetcher,
      MeterRegistry registry,
      Pipeline pipeline,
      ProductEventDecoder decoder) {
    return buildTopology(
        builder,
        topics,
        fetcher,
        registry,
        pipeline,
        decoder,
        AvroValueSerde.singleObject(ProductImage.class, ProductImage.getClassSchema(), null));
  }

  /**
   * @param images writes {@code product-images} in the configured {@code value.format} (a registry
   *     that cannot be asked fails the stream thread: its transaction is aborted and retried)
   */
  public static Topology buildTopology(
      StreamsBuilder builder,
      Topics topics,
      ImageFetcher fetcher,
      MeterRegistry registry,
      Pipeline pipeline,
      ProductEventDecoder decoder,
      AvroValueSerde<ProductImage> images) {
    StoreBuilder<KeyValueStore<String, ProductState>> store =
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(STORE_NAME),
            org.apache.kafka.common.serialization.Serdes.String(),
            ProductState.serde());
    StoreBuilder<KeyValueStore<Long, FetcherProcessor.PendingEvent>> pendingStore =
        Stores.keyValueStoreBuilder(
            // Small and short-lived (events whose fetches are in flight): in memory, restored from
            // its changelog.
            Stores.inMemoryKeyValueStore(PENDING_STORE_NAME),
            org.apache.kafka.common.serialization.Serdes.Long(),
            FetcherProcessor.pendingSerde());
    AtomicInteger imagesInFlight = new AtomicInteger();
    Gauge.builder("lookalike.fetcher.images.in.flight", imagesInFlight, AtomicInteger::get)
        .description("Images being downloaded or normalised right now")
        .register(registry);
    builder.addStateStore(store);
    builder.addStateStore(pendingStore);
    // Values are read as bytes and decoded in the processors, so undecodable events are
    // dead-lettered there.
    KStream<byte[], byte[]> events =
        builder.stream(
            topics.productEvents(),
            Consumed.with(new ByteArraySerde(), new ByteArraySerde()).withName(SOURCE));
    // Partitioning is ours, not the producer's: re-key by productId and repartition with murmur2,
    // so one
    // product's events reach one task (and its state) in order whatever partitioner the producer
    // used.
    KStream<byte[], byte[]> byProduct =
        events
            .process(() -> new ProductKeyer(decoder), Named.as(KEYER))
            .repartition(
                Repartitioned.<byte[], byte[]>as(REPARTITION)
                    .withKeySerde(new ByteArraySerde())
                    .withValueSerde(new ByteArraySerde())
                    .withStreamPartitioner(new ProductPartitioner()));
    KStream<Object, Object> out =
        byProduct.process(
            () ->
                new FetcherProcessor(
                    IMAGES_SINK,
                    DEAD_LETTER_SINK,
                    topics.deadLetters(),
                    decoder,
                    fetcher,
                    pipeline.executor(),
                    pipeline.maxEventsInFlight(),
                    registry,
                    imagesInFlight),
            Named.as(PROCESSOR),
            STORE_NAME,
            PENDING_STORE_NAME);
    // FetcherProcessor forwards to these two sinks by name.
    out.to(
        topics.productImages(),
        Produced.with(
                objectSerde(org.apache.kafka.common.serialization.Serdes.String()),
                objectSerde(images))
            .withName(IMAGES_SINK));
    out.to(
        topics.deadLetters(),
        Produced.with(objectSerde(new ByteArraySerde()), objectSerde(new ByteArraySerde()))
            .withName(DEAD_LETTER_SINK));
    return builder.build();
  }

  @SuppressWarnings("unchecked")
  private static Serde<Object> objectSerde(Serde<?> serde) {
    return (Serde<Object>) serde;
  }

  static Properties streamsProperties(Map<String, Object> config) {
    Map<String, Object> props = new HashMap<>();
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    props.put(
        StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), MAX_REQUEST_SIZE);
    // Downloads overlap (see Pipeline) but a full window waits on its oldest event: keep polls
    // modest, and
    // the transaction open long enough for a slow batch (Streams' exactly-once default is only 10
    // s).
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 200);
    // Finished events are applied from a 10 ms wall-clock punctuation: poll often enough for it to
    // run.
    props.put(StreamsConfig.POLL_MS_CONFIG, 10);
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG), 600_000);
    props.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 300_000);
    return StreamsApp.properties(
        DEFAULT_APPLICATION_ID, props, config, FetcherConfig.CONFIG_DEF.names());
  }

  public void start() {
    app.start();
  }

  /**
   * The latest version of the product this fetcher has processed (its images published or
   * dead-lettered), from its state store; empty when it has seen none or cannot tell now.
   */
  public OptionalLong processedVersion(String productId) {
    try {
      ReadOnlyKeyValueStore<String, ProductState> store =
          app.streams()
              .store(
                  StoreQueryParameters.fromNameAndType(
                      STORE_NAME, QueryableStoreTypes.<String, ProductState>keyValueStore()));
      ProductState state = store.get(productId);
      return state == null ? OptionalLong.empty() : OptionalLong.of(state.version());
    } catch (InvalidStateStoreException e) {
      return OptionalLong.empty();
    }
  }

  public KafkaStreams streams() {
    return app.streams();
  }

  /** The scaffold: state, health, and a close that leaves the consumer group. */
  /**
   * The topic that re-keys events by productId ({@code
   * <application.id>-product-events-by-product-repartition}, Kafka Streams' naming).
   */
  public String repartitionTopic() {
    return app.applicationId() + "-" + REPARTITION + "-repartition";
  }

  public StreamsApp app() {
    return app;
  }

  @Override
  public void close() {
    try {
      app.close();
    } finally {
      fetchPool.shutdownNow();
    }
  }
}
