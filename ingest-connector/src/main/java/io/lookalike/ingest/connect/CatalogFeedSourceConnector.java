package io.lookalike.ingest.connect;

import io.lookalike.schemas.ConnectorChecks;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.source.ExactlyOnceSupport;
import org.apache.kafka.connect.source.SourceConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka Connect source of catalog feeds (JSON Lines / CSV files in a directory, and a feed URL) to
 * {@code catalog.product-events}. One task: a feed is read in order.
 *
 * <pre>
 * name=catalog-feed
 * connector.class=io.lookalike.ingest.connect.CatalogFeedSourceConnector
 * tasks.max=1
 * feed.dir=/data/feeds
 * feed.url=https://pim.example.com/export/catalog.jsonl
 * key.converter=org.apache.kafka.connect.storage.StringConverter
 * value.converter=org.apache.kafka.connect.converters.ByteArrayConverter
 * </pre>
 *
 * The two converters must be set on the connector (validation says so otherwise).
 */
public class CatalogFeedSourceConnector extends SourceConnector {

  private static final Logger log = LoggerFactory.getLogger(CatalogFeedSourceConnector.class);

  /** The converters the records need: a String key, the Avro bytes as they are. */
  static final Map<String, Set<String>> CONVERTERS =
      Map.of(
          "key.converter", Set.of(ConnectorChecks.STRING_CONVERTER),
          "value.converter", Set.of(ConnectorChecks.BYTE_ARRAY_CONVERTER));

  private Map<String, String> props;

  @Override
  public void start(Map<String, String> props) {
    new CatalogFeedConfig(props); // fails start-up naming the wrong key
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
    ConnectorChecks.unknownKeys(props, CatalogFeedConfig.CONFIG_DEF).forEach(log::warn);
    this.props = Map.copyOf(props);
  }

  /**
   * ConfigDef's checks, plus: something to read, the converters, and a warning for unknown keys.
   */
  @Override
  public Config validate(Map<String, String> connectorConfigs) {
    Config config = super.validate(connectorConfigs);
    String dir = connectorConfigs.getOrDefault(CatalogFeedConfig.DIR_CONFIG, "");
    String url = connectorConfigs.getOrDefault(CatalogFeedConfig.URL_CONFIG, "");
    if (dir.isBlank() && url.isBlank()) {
      String message =
          "Set "
              + CatalogFeedConfig.DIR_CONFIG
              + " or "
              + CatalogFeedConfig.URL_CONFIG
              + " (or both): the connector has nothing to read";
      ConnectorChecks.addError(config, CatalogFeedConfig.DIR_CONFIG, dir, message);
      ConnectorChecks.addError(config, CatalogFeedConfig.URL_CONFIG, url, message);
    }
    CONVERTERS.forEach(
        (key, allowed) -> {
          String problem = ConnectorChecks.converterProblem(connectorConfigs, key, allowed);
          if (problem != null) {
            ConnectorChecks.addError(config, key, connectorConfigs.get(key), problem);
          }
        });
    ConnectorChecks.unknownKeys(connectorConfigs, CatalogFeedConfig.CONFIG_DEF).forEach(log::warn);
    return config;
  }

  @Override
  public Class<? extends Task> taskClass() {
    return CatalogFeedSourceTask.class;
  }

  @Override
  public List<Map<String, String>> taskConfigs(int maxTasks) {
    return List.of(props);
  }

  @Override
  public void stop() {}

  @Override
  public ConfigDef config() {
    return CatalogFeedConfig.CONFIG_DEF;
  }

  /**
   * Offsets are exact positions, so a worker with exactly.once.source.support commits them with the
   * records.
   */
  @Override
  public ExactlyOnceSupport exactlyOnceSupport(Map<String, String> connectorConfig) {
    return ExactlyOnceSupport.SUPPORTED;
  }

  @Override
  public String version() {
    return VERSION;
  }

  /** The project's version, from a resource Maven filters at build time. */
  static final String VERSION =
      ConnectorChecks.version(CatalogFeedSourceConnector.class, "catalog-feed-version.properties");
}
