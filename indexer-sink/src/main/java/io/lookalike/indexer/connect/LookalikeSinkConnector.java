package io.lookalike.indexer.connect;

import io.lookalike.schemas.UnknownSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/**
 * Kafka Connect sink: {@code catalog.image-embeddings.<modelId>} into Milvus (or an embedded Lucene index).
 * Values are our Avro single-object encoded {@code ImageEmbedding}s read with the ByteArrayConverter;
 * a null value (tombstone) deletes the image.
 */
public class LookalikeSinkConnector extends SinkConnector {

  private Map<String, String> props;

  @Override
  public String version() {
    return Version.get();
  }

  @Override
  public void start(Map<String, String> props) {
    new LookalikeSinkConfig(props); // fail the connector, not its tasks, on a bad setting
    UnknownSettings.warnAboutOwnPrefixes(props, LookalikeSinkConfig.CONFIG_DEF,
        org.slf4j.LoggerFactory.getLogger(LookalikeSinkConnector.class)); // a mistyped milvus.* key
    this.props = Map.copyOf(props);
  }

  @Override
  public Class<? extends Task> taskClass() {
    return LookalikeSinkTask.class;
  }

  @Override
  public List<Map<String, String>> taskConfigs(int maxTasks) {
    // One Lucene index cannot be shared by tasks (one IndexWriter per directory); Milvus takes them all.
    int tasks = new LookalikeSinkConfig(props).isLucene() ? 1 : maxTasks;
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

  /** The version of this jar, from its manifest. */
  static final class Version {
    static String get() {
      String version = LookalikeSinkConnector.class.getPackage().getImplementationVersion();
      return version == null ? "dev" : version;
    }
  }
}
