package io.lookalike.embedder;

import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;

/**
 * The embedder app's own settings. Every other key (bootstrap.servers, application.id, any Kafka
 * Streams, producer or consumer setting) is passed on to Kafka Streams unchanged.
 */
public final class EmbedderConfig extends AbstractConfig {

  /** Declared with the model's settings (it also bounds a forward pass), included here. */
  public static final String BATCH_MAX_SIZE_CONFIG = EmbeddingModelConfig.BATCH_MAX_SIZE_CONFIG;

  public static final String BATCH_MAX_WAIT_CONFIG = "embed.batch.max.wait.ms";
  public static final String BATCH_MAX_WAIT_DOC =
      "Run inference when the oldest buffered image has waited this "
          + "long (wall-clock), even if the batch is not full.";
  public static final String MAX_RECORD_BYTES_CONFIG = "embed.max.record.bytes";
  public static final String MAX_RECORD_BYTES_DOC =
      "Largest record the app reads, buffers and dead-letters: sets the "
          + "producer's max.request.size and the state store changelogs' max.message.bytes.";

  /**
   * With the schema registry keys of {@link SchemaRegistryConfig}: product images are read in any
   * Avro encoding, embeddings written in {@code value.format}. The photo cache topic holds raw
   * vectors, not Avro.
   */
  public static final ConfigDef CONFIG_DEF =
      SchemaRegistryConfig.addTo(
              Topics.configDef(
                  Topics.PRODUCT_IMAGES_CONFIG,
                  Topics.DEAD_LETTERS_CONFIG,
                  Topics.EMBEDDINGS_PREFIX_CONFIG,
                  Topics.EMBEDDING_CACHE_PREFIX_CONFIG))
          .define(EmbeddingModelConfig.CONFIG_DEF.configKeys().get(BATCH_MAX_SIZE_CONFIG))
          .define(
              BATCH_MAX_WAIT_CONFIG,
              Type.LONG,
              50L,
              ConfigDef.Range.between(0, 600_000),
              Importance.MEDIUM,
              BATCH_MAX_WAIT_DOC)
          .define(
              MAX_RECORD_BYTES_CONFIG,
              Type.INT,
              16 * 1024 * 1024,
              ConfigDef.Range.atLeast(1024),
              Importance.LOW,
              MAX_RECORD_BYTES_DOC);

  public EmbedderConfig(Map<?, ?> props) {
    super(CONFIG_DEF, props, false);
    schemaRegistryConfig(); // a wrong registry setting fails here, naming the key
  }

  public SchemaRegistryConfig schemaRegistryConfig() {
    return new SchemaRegistryConfig(originals());
  }

  public static EmbedderConfig defaults() {
    return new EmbedderConfig(Map.of());
  }

  public int batchMaxSize() {
    return getInt(BATCH_MAX_SIZE_CONFIG);
  }

  public long batchMaxWaitMs() {
    return getLong(BATCH_MAX_WAIT_CONFIG);
  }

  public int maxRecordBytes() {
    return getInt(MAX_RECORD_BYTES_CONFIG);
  }

  public Topics topics() {
    return Topics.from(originals());
  }
}
