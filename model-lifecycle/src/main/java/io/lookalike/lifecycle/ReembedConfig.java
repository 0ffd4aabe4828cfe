package io.lookalike.lifecycle;

import io.lookalike.schemas.registry.SchemaRegistryConfig;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

/**
 * Settings of {@code lookalike reembed} itself (the stages it runs read their own), and the schema
 * registry keys it shares with them.
 */
public final class ReembedConfig extends AbstractConfig {

  public static final String DROP_DELAY_MS_CONFIG = "reembed.drop.delay.ms";
  public static final String DROP_DELAY_MS_DOC =
      "With reembed --store milvus --drop-old: how long to wait after the "
          + "switch before dropping the old collection, so that every gateway has followed the alias (refresh interval "
          + "plus loading the new model) and finished its searches.";

  /**
   * With the schema registry keys of {@link SchemaRegistryConfig}: the quality gate reads
   * Confluent-framed product images through the registry, and the embedder it runs writes the new
   * model's embeddings in {@code value.format}.
   */
  public static final ConfigDef CONFIG_DEF =
      SchemaRegistryConfig.addTo(new ConfigDef())
          .define(
              DROP_DELAY_MS_CONFIG,
              Type.LONG,
              60_000L,
              Range.between(0, 24L * 3600 * 1000),
              Importance.LOW,
              DROP_DELAY_MS_DOC);

  public ReembedConfig(Map<?, ?> props) {
    super(CONFIG_DEF, props, false);
    new SchemaRegistryConfig(originals()); // a wrong registry URL or basic auth fails now
  }

  public long dropDelayMs() {
    return getLong(DROP_DELAY_MS_CONFIG);
  }
}
