package io.lookalike.schemas;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifecycle every Lookalike Kafka Streams app shares (the fetcher and the embedder): its state
 * directory locked with the holder's PID, a failed stream thread replaced, its Streams metrics in
 * Micrometer, and a bounded close that may leave the consumer group.
 *
 * <p>Needs kafka-streams on the class path: schemas declares it optional, so that a module without
 * a Streams app does not get it through schemas.
 */
public final class StreamsApp implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(StreamsApp.class);
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

  private final String name;
  private final KafkaStreams streams;
  private final KafkaStreamsMetrics streamsMetrics;
  private final MeterRegistry registry;
  private final DataDirLock stateDirLock;
  private final RestoreProgress restore;
  private final String applicationId;
  private final Path appDir;

  /**
   * Locks the app's state directory, then creates (but does not start) the app.
   *
   * @param name the app in log lines, e.g. {@code Fetcher}
   * @throws DataDirLock.HeldException when another instance uses the same state directory
   */
  public StreamsApp(String name, Topology topology, Properties props, MeterRegistry registry) {
    this.name = name;
    this.registry = registry;
    // One instance per state directory, refused with the holder's PID before Streams opens
    // anything. Beside the app's state directory, not in it: Kafka Streams manages that directory
    // (and its own .lock).
    Path appDir = stateDir(props);
    this.appDir = appDir;
    this.applicationId = props.getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
    this.stateDirLock =
        DataDirLock.acquire(appDir.getParent(), appDir.getFileName() + DataDirLock.STREAMS_SUFFIX);
    try {
      this.streams = new KafkaStreams(topology, withInstanceId(name, props, appDir.getParent()));
    } catch (RuntimeException e) {
      stateDirLock.close();
      throw e;
    }
    this.streamsMetrics = new KafkaStreamsMetrics(streams);
    this.restore = new RestoreProgress(name);
  }

  /**
   * The settings of an app: exactly-once v2 and {@code applicationId} by default, then {@code
   * tuned}, then {@code config} less {@code ownKeys} (the app's own settings, unknown to Kafka
   * Streams), so that a caller's setting wins over both defaults.
   */
  public static Properties properties(
      String applicationId,
      Map<String, ?> tuned,
      Map<String, ?> config,
      Collection<String> ownKeys) {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.putAll(tuned);
    Map<String, Object> rest = new HashMap<>(config);
    rest.keySet().removeAll(ownKeys);
    props.putAll(rest);
    return props;
  }

  /**
   * {@code props} with the main consumer a static group member whose id lives in {@code stateDir}
   * ({@link GroupInstanceId}), unless {@code group.instance.id} is set (an empty value turns static
   * membership off) or the group protocol is not the classic one. Kafka Streams appends {@code
   * -<thread index>} per stream thread. Restarted on its state directory after {@code kill -9}, the
   * app takes its dead self's place in the group at once (no wait for {@code session.timeout.ms});
   * its exactly-once producers' {@code transactional.id} ({@code <application.id>-<process
   * id>-<thread index>}, the process id kept by Kafka Streams in the same directory) fences the
   * dead one's open transaction as soon as it starts.
   */
  static Properties withInstanceId(String name, Properties props, Path stateDir) {
    String[] keys = {
      ConsumerConfig.GROUP_INSTANCE_ID_CONFIG,
      StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
      StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG)
    };
    Properties effective = new Properties();
    effective.putAll(props);
    if (GroupInstanceId.wanted(effective, keys)) {
      effective.put(keys[2], GroupInstanceId.of(stateDir));
    }
    GroupInstanceId.dropEmpty(effective, keys);
    String id = null;
    for (String key : keys) {
      id = effective.getProperty(key, id);
    }
    if (id == null) {
      log.info("{} joins its consumer group as a dynamic member", name);
    } else {
      log.info("{} joins its consumer group as static member {}-<thread>", name, id);
    }
    return effective;
  }

  /** An app's own state directory: {@code <state.dir>/<application.id>}. */
  public static Path stateDir(Properties props) {
    StreamsConfig streamsConfig = new StreamsConfig(props);
    return Path.of(
        streamsConfig.getString(StreamsConfig.STATE_DIR_CONFIG),
        streamsConfig.getString(StreamsConfig.APPLICATION_ID_CONFIG));
  }

  /** Binds the Streams metrics and starts the app; a failed stream thread is replaced. */
  public void start() {
    streams.setUncaughtExceptionHandler(
        e -> {
          log.error(
              "{} stream thread failed; replacing it (exactly-once: its transaction is aborted and"
                  + " retried)",
              name,
              e);
          return StreamThreadExceptionResponse.REPLACE_THREAD;
        });
    // Before start: Kafka Streams takes the listener once, for every store of the app.
    streams.setGlobalStateRestoreListener(restore);
    io.micrometer.core.instrument.Gauge.builder(
            "lookalike.streams.restore.remaining", restore, RestoreProgress::remaining)
        .tag("app", name)
        .description(
            "Changelog records this app still has to restore into its state stores before it"
                + " processes the partitions being restored")
        .register(registry);
    streamsMetrics.bindTo(registry);
    streams.start();
  }

  public KafkaStreams streams() {
    return streams;
  }

  /** Its {@code application.id}: also the group whose committed offsets say how far it read. */
  public String applicationId() {
    return applicationId;
  }

  /** Its own state directory, {@code <state.dir>/<application.id>}. */
  public Path stateDir() {
    return appDir;
  }

  public KafkaStreams.State state() {
    return streams.state();
  }

  /**
   * What the app is restoring from its changelogs now, e.g. {@code restoring 2 stores (3 changelog
   * partitions): 12,000 of 100,000 records}; empty when nothing is. Kafka Streams reports RUNNING
   * meanwhile, but the partitions being restored are not processed.
   */
  public java.util.Optional<String> restoring() {
    return restore.now().map(RestoreProgress.Restoring::toString);
  }

  /**
   * Closes the app and leaves its consumer group: Kafka Streams stays in the group on close by
   * default (for rolling restarts of many instances), which makes a one-instance restart wait for
   * the session timeout and a group deletion fail.
   */
  public void closeLeavingGroup() {
    try {
      streams.close(
          CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
              .withTimeout(CLOSE_TIMEOUT));
    } finally {
      close();
    }
  }

  /** Closes the app, staying in its consumer group, and releases its state directory. */
  @Override
  public void close() {
    try {
      streams.close(CLOSE_TIMEOUT);
    } finally {
      streamsMetrics.close();
      stateDirLock.close();
    }
  }
}
