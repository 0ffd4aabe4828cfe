package io.lookalike.indexer.connect;

import io.lookalike.schemas.ConnectorChecks;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka Connect sink: {@code catalog.image-embeddings.<modelId>} into Milvus (or an embedded Lucene
 * index). Values are our Avro single-object encoded {@code ImageEmbedding}s read with the
 * ByteArrayConverter; a null value (tombstone) deletes the image.
 *
 * <p>In Connect the store is Milvus: {@code store=lucene} is refused at validation and at start,
 * because an embedded index lives on one worker's disk, where no gateway can search it (the
 * gateway's Lucene store is an index of its own, and two writers cannot share one) and which a task
 * moving to another worker leaves behind. A single-node Lucene deployment runs the embedded indexer
 * instead ({@code lookalike indexer --store lucene}, or the local mode). See docs/connect.md.
 */
public class LookalikeSinkConnector extends SinkConnector {

  private static final Logger log = LoggerFactory.getLogger(LookalikeSinkConnector.class);
  static final String LUCENE_REFUSED =
      "store=lucene is not available in Kafka Connect: the index would live on "
          + "one worker's disk, where no gateway can search it and which a task moving to another worker leaves "
          + "behind. Use store=milvus, or run the embedded indexer next to the gateway "
          + "('lookalike indexer --store lucene', or the local mode)";

  /** The converters the records need: the key as text or bytes, the Avro bytes as they are. */
  static final Map<String, Set<String>> CONVERTERS =
      Map.of(
          "key.converter",
              Set.of(ConnectorChecks.BYTE_ARRAY_CONVERTER, ConnectorChecks.STRING_CONVERTER),
          "value.converter", Set.of(ConnectorChecks.BYTE_ARRAY_CONVERTER));

  private Map<String, String> props;

  @Override
  public String version() {
    return VERSION;
  }

  @Override
  public void start(Map<String, String> props) {
    // fail the connector, not its tasks, on a bad setting
    if (new LookalikeSinkConfig(props).isLucene()) {
      throw new ConfigException(
          LookalikeSinkConfig.STORE_CONFIG,
          props.get(LookalikeSinkConfig.STORE_CONFIG),
          LUCENE_REFUSED);
    }
    List<String> problems = new ArrayList<>();
    CONVERTERS.forEach(
        (key, allowed) -> {
          String problem = ConnectorChecks.converterProblem(props, key, allowed);
          if (problem != null) {
            problems.add(problem);
          }
        });
    if (!problems.isEmpty()) {
      throw new ConfigException(String.join("; ", problems));
    }
    ConnectorChecks.unknownKeys(props, LookalikeSinkConfig.CONFIG_DEF).forEach(log::warn);
    this.props = Map.copyOf(props);
  }

  /**
   * ConfigDef's checks, plus: no Lucene in Connect, lucene.dir with store=lucene, the converters,
   * unknown keys.
   */
  @Override
  public Config validate(Map<String, String> connectorConfigs) {
    Config config = super.validate(connectorConfigs);
    String store = connectorConfigs.getOrDefault(LookalikeSinkConfig.STORE_CONFIG, "milvus");
    if (store.strip().toLowerCase(Locale.ROOT).equals("lucene")) {
      ConnectorChecks.addError(config, LookalikeSinkConfig.STORE_CONFIG, store, LUCENE_REFUSED);
      String dir = connectorConfigs.getOrDefault(LookalikeSinkConfig.LUCENE_DIR_CONFIG, "");
      if (dir.isBlank()) {
        ConnectorChecks.addError(
            config, LookalikeSinkConfig.LUCENE_DIR_CONFIG, dir, "is required with store=lucene");
      }
    }
    CONVERTERS.forEach(
        (key, allowed) -> {
          String problem = ConnectorChecks.converterProblem(connectorConfigs, key, allowed);
          if (problem != null) {
            ConnectorChecks.addError(config, key, connectorConfigs.get(key), problem);
          }
        });
    ConnectorChecks.unknownKeys(connectorConfigs, LookalikeSinkConfig.CONFIG_DEF)
        .forEach(log::warn);
    return config;
  }

  @Override
  public Class<? extends Task> taskClass() {
    return LookalikeSinkTask.class;
  }

  @Override
  public List<Map<String, String>> taskConfigs(int maxTasks) {
    int tasks = maxTasks;
    List<Map<String, String>> configs = new ArrayList<>(tasks);
    for (int i = 0; i < tasks; i++) {
      configs.add(props);
    }
    return configs;
  }

  @Override
  public void stop() {
    // nothing to release
  }

  @Override
  public ConfigDef config() {
    return LookalikeSinkConfig.CONFIG_DEF;
  }

  /** The project's version, from a resource Maven filters at build time. */
  static final String VERSION =
      ConnectorChecks.version(LookalikeSinkConnector.class, "lookalike-sink-version.properties");
}
