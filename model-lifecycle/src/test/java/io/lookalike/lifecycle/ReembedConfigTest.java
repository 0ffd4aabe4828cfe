package io.lookalike.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.registry.SchemaRegistryConfig;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

/**
 * {@code lookalike reembed}'s own settings declare the registry keys its gate and embedder read.
 */
class ReembedConfigTest {

  @Test
  void shouldDeclareSchemaRegistryConfigsKeys() {
    assertThat(ReembedConfig.CONFIG_DEF.names())
        .containsAll(SchemaRegistryConfig.CONFIG_DEF.names());
  }

  @Test
  void shouldRefuseAnUnknownSubjectStrategyNamingKeyAndValue() {
    assertThatThrownBy(
            () ->
                new ReembedConfig(
                    Map.of(SchemaRegistryConfig.SUBJECT_NAME_STRATEGY_CONFIG, "ByColour")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(SchemaRegistryConfig.SUBJECT_NAME_STRATEGY_CONFIG)
        .hasMessageContaining("ByColour");
  }
}
