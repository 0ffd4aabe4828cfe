package io.lookalike.ingest;

import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.schemas.DataDirLock;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
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
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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

  private static final Logger log = LoggerFactory.getLogger(FetcherApp.class);
  private static final String SOURCE = "product-events";
  private static final String KEYER = "key-by-product";

  /** The repartition topic is {@code <application.id>-product-events-by-product-repartition}. */
  public static final String REPARTITION = "product-events-by-product";

  private static final String PROCESSOR = "fetcher";
  private static final String IMAGES_SINK = "product-images";
  private static final String DEAD_LETTER_SINK = "dead-letters";

  private final KafkaStreams streams;
  private final DataDirLock stateDirLock;
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
    Properties props = streamsProperties(config);
    // One instance per state directory, refused with the holder's PID before Streams opens
    // anything.
    // Beside the app's state directory, not in it: Kafka Streams manages that directory (and its
    // own .lock).
    Path appDir = stateDir(props);
    this.stateDirLock =
        DataDirLock.acquire(appDir.getParent(), appDir.getFileName() + DataDirLock.STREAMS_SUFFIX);
    this.fetchPool = fetchPool(fetcherConfig.getInt(FetcherConfig.FETCH_CONCURRENCY_CONFIG));
    try {
      Pipeline pipeline =
          new Pipeline(
              fetchPool, fetcherConfig.getInt(FetcherConfig.FETCH_PIPELINE_MAX_EVENTS_CONFIG));
      Topology topology =
          buildTopology(
              new StreamsBuilder(),
              fetcherConfig.topics(),
              fetcher,
              registry,
              pipeline,
              new ProductEventDecoder(fetcherConfig.schemaRegistry()));
      this.streams = new KafkaStreams(topology, props);
    } catch (RuntimeException e) {
      fetchPool.shutdownNow();
      stateDirLock.close();
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
                objectSerde(Serdes.productImage()))
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
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, DEFAULT_APPLICATION_ID);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
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
    Map<String, Object> rest = new HashMap<>(config);
    rest.keySet().removeAll(FetcherConfig.CONFIG_DEF.names()); // ours, unknown to Kafka Streams
    props.putAll(rest);
    return props;
  }

  public void start() {
    streams.setUncaughtExceptionHandler(
        e -> {
          log.error("Fetcher stream thread failed; replacing it", e);
          return StreamThreadExceptionResponse.REPLACE_THREAD;
        });
    streams.start();
  }

  /**
   * The latest version of the product this fetcher has processed (its images published or
   * dead-lettered), from its state store; empty when it has seen none or cannot tell now.
   */
  public java.util.OptionalLong processedVersion(String productId) {
    try {
      org.apache.kafka.streams.state.ReadOnlyKeyValueStore<String, ProductState> store =
          streams.store(
              org.apache.kafka.streams.StoreQueryParameters.fromNameAndType(
                  STORE_NAME,
                  org.apache.kafka.streams.state.QueryableStoreTypes
                      .<String, ProductState>keyValueStore()));
      ProductState state = store.get(productId);
      return state == null
          ? java.util.OptionalLong.empty()
          : java.util.OptionalLong.of(state.version());
    } catch (org.apache.kafka.streams.errors.InvalidStateStoreException e) {
      return java.util.OptionalLong.empty();
    }
  }

  public KafkaStreams streams() {
    return streams;
  }

  @Override
  public void close() {
    try {
      streams.close(Duration.ofSeconds(30));
    } finally {
      fetchPool.shutdownNow();
      stateDirLock.close();
    }
  }

  /** This app's own state directory: {@code <state.dir>/<application.id>}. */
  static Path stateDir(Properties props) {
    StreamsConfig streamsConfig = new StreamsConfig(props);
    return Path.of(
        streamsConfig.getString(StreamsConfig.STATE_DIR_CONFIG),
        streamsConfig.getString(StreamsConfig.APPLICATION_ID_CONFIG));
  }
}
