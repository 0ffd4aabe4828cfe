package io.lookalike.indexer.connect;

import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.lookalike.store.VectorStore;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusVectorStore;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/**
 * Settings of the Lookalike sink connector: which store, which model, and the store's own settings.
 */
public final class LookalikeSinkConfig extends AbstractConfig {

  public static final String STORE_CONFIG = "store";
  private static final String STORE_DOC =
      "Where the vectors go: 'milvus' (a Milvus collection per model, the "
          + "distributed mode) or 'lucene' (an embedded Lucene HNSW index on local disk: for the embedded indexer; the "
          + "Connect connector refuses it, as no gateway could search a worker's index).";
  public static final String LUCENE_DIR_CONFIG = "lucene.dir";
  private static final String LUCENE_DIR_DOC =
      "With store=lucene: the directory holding one index directory per "
          + "model (<lucene.dir>/<modelId>).";
  public static final String MODEL_ID_CONFIG = "model.id";
  private static final String MODEL_ID_DOC =
      "The model whose embeddings the topics hold; empty: the topic name "
          + "minus "
          + Topics.EMBEDDINGS_PREFIX_CONFIG
          + " (catalog.image-embeddings.<modelId>).";
  public static final String MODEL_DIMENSION_CONFIG = "model.dimension";
  private static final String MODEL_DIMENSION_DOC =
      "Vector dimension of the model; 0: that of the existing index, "
          + "else that of the first embedding received.";

  /** The prefix is stripped from a topic name to derive the modelId when model.id is empty. */
  public static final String EMBEDDINGS_PREFIX_CONFIG = Topics.EMBEDDINGS_PREFIX_CONFIG;

  public static final String ALIAS_CREATE_CONFIG = "milvus.alias.create";
  private static final String ALIAS_CREATE_DOC =
      "With store=milvus: point milvus.alias at this model's collection "
          + "if the alias does not exist yet (first deployment). An existing alias is never moved by the sink; "
          + "switching to a re-embedded model is a deliberate step.";

  public static final String UNAVAILABLE_MAX_MS_CONFIG = "store.unavailable.max.ms";
  private static final String UNAVAILABLE_MAX_MS_DOC =
      "How long the store may stay unreachable (each batch retried "
          + "by Connect after a back-off, nothing committed meanwhile) before the task fails, with the store's error "
          + "as the reason in its status; restart the task once the store is back.";

  public static final String LAG_BOOTSTRAP_SERVERS_CONFIG = "lag.bootstrap.servers";
  private static final String LAG_BOOTSTRAP_SERVERS_DOC =
      "Kafka brokers the task reads the topics' ends from (with the connector's consumer.override.* "
          + "security settings), so that, caught up, it commits past the transaction markers that end each "
          + "partition of a transactional embeddings topic (consumer group lag 0). Empty: "
          + "consumer.override.bootstrap.servers; when both are empty the commit stays at the last record "
          + "(lag 1 per partition ending in a marker).";

  public static final ConfigDef CONFIG_DEF =
      Topics.include(
              SchemaRegistryConfig.addTo(new ConfigDef(MilvusConfig.CONFIG_DEF)),
              EMBEDDINGS_PREFIX_CONFIG)
          .define(
              STORE_CONFIG,
              Type.STRING,
              "milvus",
              ConfigDef.CaseInsensitiveValidString.in("milvus", "lucene"),
              Importance.HIGH,
              STORE_DOC)
          .define(LUCENE_DIR_CONFIG, Type.STRING, "", Importance.HIGH, LUCENE_DIR_DOC)
          .define(MODEL_ID_CONFIG, Type.STRING, "", new ModelId(), Importance.HIGH, MODEL_ID_DOC)
          .define(
              MODEL_DIMENSION_CONFIG,
              Type.INT,
              0,
              ConfigDef.Range.between(0, MilvusVectorStore.MAX_DIMENSION),
              Importance.MEDIUM,
              MODEL_DIMENSION_DOC)
          .define(ALIAS_CREATE_CONFIG, Type.BOOLEAN, true, Importance.MEDIUM, ALIAS_CREATE_DOC)
          .define(
              UNAVAILABLE_MAX_MS_CONFIG,
              Type.LONG,
              300_000L,
              ConfigDef.Range.atLeast(0),
              Importance.MEDIUM,
              UNAVAILABLE_MAX_MS_DOC)
          .define(
              LAG_BOOTSTRAP_SERVERS_CONFIG,
              Type.STRING,
              "",
              Importance.MEDIUM,
              LAG_BOOTSTRAP_SERVERS_DOC);

  private final MilvusConfig milvus;

  public LookalikeSinkConfig(Map<?, ?> props) {
    super(CONFIG_DEF, props, true);
    this.milvus = new MilvusConfig(props);
    schemaRegistryConfig(); // a wrong registry setting fails here, naming the key
    if (isLucene() && getString(LUCENE_DIR_CONFIG).isBlank()) {
      throw new ConfigException(LUCENE_DIR_CONFIG, "", "is required with store=lucene");
    }
  }

  /** The schema registry settings: Confluent-framed embeddings are read through it. */
  public SchemaRegistryConfig schemaRegistryConfig() {
    return new SchemaRegistryConfig(originals());
  }

  /**
   * The settings of the task's own consumer that finds the topics' ends: the connector's
   * consumer.override.* ones with bootstrap.servers from lag.bootstrap.servers; empty when no
   * brokers are known.
   */
  public Map<String, Object> lagConsumerSettings(Map<String, String> props) {
    Map<String, Object> settings = new java.util.HashMap<>();
    String prefix = "consumer.override.";
    props.forEach(
        (key, value) -> {
          if (key.startsWith(prefix)) {
            settings.put(key.substring(prefix.length()), value);
          }
        });
    String servers = getString(LAG_BOOTSTRAP_SERVERS_CONFIG);
    if (!servers.isBlank()) {
      settings.put("bootstrap.servers", servers);
    }
    Object known = settings.get("bootstrap.servers");
    return known == null || known.toString().isBlank() ? Map.of() : settings;
  }

  public boolean isLucene() {
    return getString(STORE_CONFIG).toLowerCase(Locale.ROOT).equals("lucene");
  }

  /**
   * The model of a topic's embeddings: model.id, or the topic name minus the embeddings prefix, or
   * null.
   */
  public String modelIdOf(String topic) {
    String configured = getString(MODEL_ID_CONFIG);
    if (!configured.isBlank()) {
      return configured;
    }
    String prefix = getString(EMBEDDINGS_PREFIX_CONFIG);
    String suffix = topic.startsWith(prefix) ? topic.substring(prefix.length()) : "";
    return suffix.matches("[a-z0-9_]+") ? suffix : null;
  }

  /**
   * The configured dimension, else that of the store's existing index of {@code modelId}, else
   * empty.
   */
  public OptionalInt dimensionOf(String modelId) {
    int configured = getInt(MODEL_DIMENSION_CONFIG);
    if (configured > 0) {
      return OptionalInt.of(configured);
    }
    return isLucene()
        ? LuceneVectorStore.existingDimension(luceneDir(modelId), modelId)
        : MilvusVectorStore.existingDimension(milvus, modelId);
  }

  /** Opens (creating when missing) the store of one model. */
  public VectorStore openStore(String modelId, int dimension) {
    if (isLucene()) {
      return LuceneVectorStore.open(luceneDir(modelId), modelId, dimension);
    }
    MilvusVectorStore store = MilvusVectorStore.open(milvus, modelId, dimension);
    if (getBoolean(ALIAS_CREATE_CONFIG)) {
      store.activateIfUnset();
    }
    return store;
  }

  private Path luceneDir(String modelId) {
    return Path.of(getString(LUCENE_DIR_CONFIG)).resolve(modelId);
  }

  /** Lowercase letters, digits and '_', or empty. */
  private static final class ModelId implements ConfigDef.Validator {
    @Override
    public void ensureValid(String name, Object value) {
      if (value != null && !value.toString().isEmpty() && !value.toString().matches("[a-z0-9_]+")) {
        throw new ConfigException(
            name, value, "a modelId holds only lowercase letters, digits and '_'");
      }
    }

    @Override
    public String toString() {
      return "[a-z0-9_]* (empty: from the topic name)";
    }
  }
}
