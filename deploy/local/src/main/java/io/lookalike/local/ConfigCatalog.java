package io.lookalike.local;

import io.lookalike.embedder.EmbedderConfig;
import io.lookalike.gateway.GatewayConfig;
import io.lookalike.gateway.HealthConfig;
import io.lookalike.indexer.EmbeddingSink;
import io.lookalike.indexer.connect.LookalikeSinkConfig;
import io.lookalike.ingest.FetcherConfig;
import io.lookalike.ingest.connect.CatalogFeedConfig;
import io.lookalike.ingest.webhook.WebhookConfig;
import io.lookalike.lifecycle.ReembedConfig;
import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.UnknownSettings;
import io.lookalike.store.milvus.MilvusConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Every setting of the project: the ConfigDef of each stage, library and connector, in the order
 * the configuration reference ({@code docs/configuration.md}) shows them. Also decides which {@code
 * -D} keys are known, for the start-up warning about mistyped ones.
 */
public final class ConfigCatalog {

  /** One ConfigDef and who reads it. */
  public record Section(String title, String readBy, ConfigDef def) {}

  private static final List<Section> SECTIONS =
      List.of(
          new Section("Topics", "every stage and connector", Topics.CONFIG_DEF),
          new Section(
              "Image fetcher", "`lookalike fetcher`, `lookalike local`", FetcherConfig.CONFIG_DEF),
          new Section(
              "Webhook",
              "`lookalike webhook`, `lookalike local` (POST /v1/events on the gateway's port)",
              WebhookConfig.CONFIG_DEF),
          new Section(
              "Catalog feed source connector",
              "Kafka Connect: `io.lookalike.ingest.connect.CatalogFeedSourceConnector`",
              CatalogFeedConfig.CONFIG_DEF),
          new Section(
              "Model",
              "`lookalike embedder`, `lookalike gateway`, `lookalike reembed`, `lookalike local`",
              EmbeddingModelConfig.CONFIG_DEF),
          new Section(
              "Embedder", "`lookalike embedder`, `lookalike local`", EmbedderConfig.CONFIG_DEF),
          new Section(
              "Indexer",
              "`lookalike indexer`, `lookalike gateway --store lucene`, `lookalike local`",
              EmbeddingSink.CONFIG_DEF),
          new Section(
              "Milvus",
              "`lookalike indexer|gateway|reembed|models|drop --store milvus`, the sink connector",
              MilvusConfig.CONFIG_DEF),
          new Section(
              "Indexer sink connector",
              "Kafka Connect: `io.lookalike.indexer.connect.LookalikeSinkConnector`",
              LookalikeSinkConfig.CONFIG_DEF),
          new Section(
              "Query gateway", "`lookalike gateway`, `lookalike local`", GatewayConfig.CONFIG_DEF),
          new Section("Re-embedding", "`lookalike reembed`", ReembedConfig.CONFIG_DEF),
          new Section(
              "Health",
              "`lookalike local`, `fetcher`, `embedder`, `indexer`, `gateway` (GET /health)",
              HealthConfig.CONFIG_DEF));

  /** Kafka's own prefixes for settings of one client of a Streams app (see StreamsConfig). */
  private static final List<String> CLIENT_PREFIXES =
      List.of(
          StreamsConfig.MAIN_CONSUMER_PREFIX,
          StreamsConfig.RESTORE_CONSUMER_PREFIX,
          StreamsConfig.GLOBAL_CONSUMER_PREFIX,
          StreamsConfig.CONSUMER_PREFIX,
          StreamsConfig.PRODUCER_PREFIX,
          StreamsConfig.ADMIN_CLIENT_PREFIX);

  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(ConfigCatalog.class);

  private ConfigCatalog() {}

  public static List<Section> sections() {
    return SECTIONS;
  }

  /** Every key of ours, each once. */
  public static Set<String> ourKeys() {
    Set<String> keys = new LinkedHashSet<>();
    SECTIONS.forEach(section -> keys.addAll(section.def().names()));
    return keys;
  }

  /** The keys passed on to the Kafka clients and Kafka Streams unchanged. */
  static Set<String> kafkaKeys() {
    Set<String> keys = new LinkedHashSet<>(StreamsConfig.configDef().names());
    keys.addAll(ProducerConfig.configNames());
    keys.addAll(ConsumerConfig.configNames());
    keys.addAll(AdminClientConfig.configNames());
    return keys;
  }

  /**
   * Whether a stage reads {@code key}: ours, a Kafka client's or Streams' (with or without a client
   * prefix).
   */
  public static boolean isKnown(String key) {
    if (ourKeys().contains(key) || kafkaKeys().contains(key)) {
      return true;
    }
    for (String prefix : CLIENT_PREFIXES) {
      if (key.startsWith(prefix) && kafkaKeys().contains(key.substring(prefix.length()))) {
        return true;
      }
    }
    // topic.* also configures the internal topics of Kafka Streams, e.g. topic.min.insync.replicas
    return key.startsWith(StreamsConfig.TOPIC_PREFIX)
        && topicConfigNames().contains(key.substring(StreamsConfig.TOPIC_PREFIX.length()));
  }

  /** One line per {@code -D} setting no stage reads, naming the nearest known key. */
  public static List<String> unknownSettings(Map<?, ?> settings) {
    List<String> candidates = new ArrayList<>(ourKeys());
    candidates.addAll(kafkaKeys());
    return UnknownSettings.describe(settings, ConfigCatalog::isKnown, candidates);
  }

  /**
   * One line per JVM system property that looks like a setting of ours ({@code java
   * -Dembed.batch.max.size=16 -jar ...}): the stages do not read system properties, only {@code -D}
   * after the command.
   */
  public static List<String> settingsGivenAsSystemProperties(Properties system) {
    Set<String> prefixes =
        ourKeys().stream()
            .map(key -> key.substring(0, key.indexOf('.') + 1))
            .filter(prefix -> !prefix.isEmpty())
            .collect(Collectors.toSet());
    Map<String, String> ours = new TreeMap<>();
    system.stringPropertyNames().stream()
        .filter(name -> prefixes.stream().anyMatch(name::startsWith))
        .forEach(name -> ours.put(name, system.getProperty(name)));
    List<String> problems = new ArrayList<>();
    ours.forEach(
        (key, value) -> {
          List<String> unknown = unknownSettings(Map.of(key, value));
          problems.add(
              unknown.isEmpty()
                  ? "system property "
                      + key
                      + " is not read: give settings after the command, e.g. lookalike local -D"
                      + key
                      + "=..."
                  : "system property "
                      + unknown.get(0).substring("unknown setting ".length())
                      + " (settings go after the command: lookalike local -Dkey=value)");
        });
    return problems;
  }

  /**
   * Checks each known {@code -D} setting against its type and validator before anything starts, so
   * that {@code -Dembed.batch.max.size=0} fails in a second rather than once the broker and the
   * model are up. Rules between keys are still checked by each stage's config when it starts.
   *
   * @throws StartupException with one line per wrong value, each naming the key and the value
   */
  public static void validate(Map<?, ?> settings) {
    List<String> problems = new ArrayList<>();
    try {
      new HealthConfig(
          settings.containsKey(HealthConfig.OLD_MIN_FREE_BYTES_CONFIG)
              ? Map.of(
                  HealthConfig.OLD_MIN_FREE_BYTES_CONFIG,
                  settings.get(HealthConfig.OLD_MIN_FREE_BYTES_CONFIG))
              : Map.of());
    } catch (ConfigException e) {
      problems.add(e.getMessage()); // renamed: say the new name rather than "unknown setting"
    }
    Map<String, ConfigDef.ConfigKey> keys = new java.util.HashMap<>();
    SECTIONS.forEach(section -> section.def().configKeys().forEach(keys::putIfAbsent));
    new TreeMap<>(
            settings.entrySet().stream()
                .collect(
                    Collectors.toMap(
                        e -> String.valueOf(e.getKey()),
                        java.util.Map.Entry::getValue,
                        (a, b) -> a)))
        .forEach(
            (name, value) -> {
              ConfigDef.ConfigKey key = keys.get(name);
              if (key != null) {
                try {
                  Object parsed = ConfigDef.parseType(name, value, key.type);
                  if (key.validator != null) {
                    key.validator.ensureValid(name, parsed);
                  }
                } catch (ConfigException e) {
                  problems.add(e.getMessage());
                }
              }
            });
    if (!problems.isEmpty()) {
      throw new StartupException(problems);
    }
  }

  /**
   * Logs a warning for each unknown {@code -D} setting and each setting given as a JVM system
   * property; returns them.
   */
  public static List<String> warnAboutUnknown(Map<?, ?> settings) {
    List<String> problems = new ArrayList<>(unknownSettings(settings));
    problems.addAll(settingsGivenAsSystemProperties(System.getProperties()));
    problems.forEach(problem -> log.warn("{}", problem));
    return problems;
  }

  private static Collection<String> topicConfigNames() {
    Set<String> names = new LinkedHashSet<>();
    for (var field : TopicConfig.class.getFields()) {
      if (field.getName().endsWith("_CONFIG")) {
        try {
          names.add((String) field.get(null));
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return names;
  }
}
