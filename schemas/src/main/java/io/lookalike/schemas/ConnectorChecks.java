package io.lookalike.schemas;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigValue;

/**
 * Checks of a connector config that a {@link ConfigDef} cannot express: the converters the
 * connector needs, and settings that neither the connector nor Connect knows (typos), with the
 * nearest known key.
 */
public final class ConnectorChecks {

  public static final String BYTE_ARRAY_CONVERTER =
      "org.apache.kafka.connect.converters.ByteArrayConverter";
  public static final String STRING_CONVERTER = "org.apache.kafka.connect.storage.StringConverter";

  /**
   * Connect's own settings of a connector (ConnectorConfig, SinkConnectorConfig,
   * SourceConnectorConfig).
   */
  private static final Set<String> CONNECT_KEYS =
      Set.of(
          "name",
          "connector.class",
          "tasks.max",
          "tasks.max.enforce",
          "topics",
          "topics.regex",
          "key.converter",
          "value.converter",
          "header.converter",
          "config.action.reload",
          "connector.plugin.version",
          "key.converter.plugin.version",
          "value.converter.plugin.version",
          "header.converter.plugin.version",
          "exactly.once.support",
          "transaction.boundary",
          "transaction.boundary.interval.ms",
          "offsets.storage.topic",
          "transforms",
          "predicates");

  private static final List<String> CONNECT_PREFIXES =
      List.of(
          "transforms.",
          "predicates.",
          "errors.",
          "key.converter.",
          "value.converter.",
          "header.converter.",
          "producer.override.",
          "consumer.override.",
          "admin.override.",
          "topic.creation.");

  private ConnectorChecks() {}

  /**
   * The problem with converter {@code key} of a connector config, or null. It must be set on the
   * connector: the worker's default is not visible to a connector, and a stock worker's
   * JsonConverter would wrap or refuse our Avro bytes.
   */
  public static String converterProblem(
      Map<String, String> props, String key, Set<String> allowed) {
    String value = props.get(key);
    String use = String.join(" or ", allowed);
    if (value == null || value.isBlank()) {
      return key
          + " is not set on this connector; set "
          + key
          + "="
          + use
          + " (the worker's default converter, "
          + "JsonConverter in a stock worker, would corrupt the records)";
    }
    if (!allowed.contains(value.strip())) {
      return key + "=" + value + " cannot carry these records; use " + key + "=" + use;
    }
    return null;
  }

  /**
   * One line per setting that is neither {@code def}'s nor Connect's, naming the nearest key of
   * {@code def}.
   */
  public static List<String> unknownKeys(Map<String, String> props, ConfigDef def) {
    List<String> unknown = new ArrayList<>();
    for (String key : props.keySet()) {
      if (def.configKeys().containsKey(key)
          || CONNECT_KEYS.contains(key)
          || CONNECT_PREFIXES.stream().anyMatch(key::startsWith)) {
        continue;
      }
      String nearest = UnknownSettings.nearest(key, def.names());
      unknown.add(
          "Unknown setting '"
              + key
              + "' is ignored"
              + (nearest == null ? "" : " (did you mean '" + nearest + "'?)"));
    }
    return unknown;
  }

  /** Adds {@code message} to the errors of {@code name} in a validation result. */
  public static void addError(Config config, String name, String value, String message) {
    for (ConfigValue existing : config.configValues()) {
      if (existing.name().equals(name)) {
        existing.addErrorMessage(message);
        return;
      }
    }
    ConfigValue added = new ConfigValue(name, value, new ArrayList<>(), new ArrayList<>());
    added.addErrorMessage(message);
    config.configValues().add(added);
  }

  /**
   * The project's version from {@code resource} (a properties file with {@code version}, filtered
   * by Maven) next to {@code owner}; "unknown" when it is missing.
   */
  public static String version(Class<?> owner, String resource) {
    java.util.Properties properties = new java.util.Properties();
    try (var in = owner.getResourceAsStream(resource)) {
      if (in != null) {
        properties.load(in);
      }
    } catch (java.io.IOException e) {
      // fall through to "unknown"
    }
    return properties.getProperty("version", "unknown");
  }
}
