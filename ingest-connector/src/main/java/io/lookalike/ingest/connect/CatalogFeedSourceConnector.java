package io.lookalike.ingest.connect;

import io.lookalike.schemas.UnknownSettings;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.source.ExactlyOnceSupport;
import org.apache.kafka.connect.source.SourceConnector;

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
 */
public class CatalogFeedSourceConnector extends SourceConnector {

  private Map<String, String> props;

  @Override
  public void start(Map<String, String> props) {
    new CatalogFeedConfig(props); // fails start-up naming the wrong key
    UnknownSettings.warnAboutOwnPrefixes(props, CatalogFeedConfig.CONFIG_DEF,
        org.slf4j.LoggerFactory.getLogger(CatalogFeedSourceConnector.class)); // a mistyped feed.* key
    this.props = Map.copyOf(props);
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
  public void stop() {
  }

  @Override
  public ConfigDef config() {
    return CatalogFeedConfig.CONFIG_DEF;
  }

  /** Offsets are exact positions, so a worker with exactly.once.source.support commits them with the records. */
  @Override
  public ExactlyOnceSupport exactlyOnceSupport(Map<String, String> connectorConfig) {
    return ExactlyOnceSupport.SUPPORTED;
  }

  @Override
  public String version() {
    return AppInfoParser.getVersion();
  }
}
