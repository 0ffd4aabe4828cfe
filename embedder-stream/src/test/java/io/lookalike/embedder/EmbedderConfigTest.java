package io.lookalike.embedder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.model.ModelInfo;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

class EmbedderConfigTest {

  @Test
  void shouldDefaultToBatchesOf8Within50Ms() {
    EmbedderConfig config = EmbedderConfig.defaults();

    assertThat(config.batchMaxSize()).isEqualTo(8);
    assertThat(config.batchMaxWaitMs()).isEqualTo(50);
  }

  @Test
  void shouldRejectAZeroBatchSizeNamingTheKey() {
    assertThatThrownBy(() -> new EmbedderConfig(Map.of(EmbedderConfig.BATCH_MAX_SIZE_CONFIG, 0)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(EmbedderConfig.BATCH_MAX_SIZE_CONFIG);
  }

  @Test
  void shouldRejectAMeanThatIsNotThreeNumbers() {
    assertThatThrownBy(
            () -> EmbeddingModelConfig.from(Map.of(EmbeddingModelConfig.MEAN_CONFIG, "0.5,0.5")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(EmbeddingModelConfig.MEAN_CONFIG);
    assertThatThrownBy(
            () -> EmbeddingModelConfig.from(Map.of(EmbeddingModelConfig.MEAN_CONFIG, "a,b,c")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(EmbeddingModelConfig.MEAN_CONFIG);
  }

  @Test
  void shouldRejectAResizeSmallerThanTheInput() {
    assertThatThrownBy(
            () -> EmbeddingModelConfig.from(Map.of(EmbeddingModelConfig.RESIZE_CONFIG, 200)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(EmbeddingModelConfig.RESIZE_CONFIG);
  }

  @Test
  void shouldRunExactlyOnceUnderAnAppIdNamedForTheModelAndPassOtherKeysToStreams() {
    Map<String, Object> config =
        new HashMap<>(
            Map.of(
                StreamsConfig.BOOTSTRAP_SERVERS_CONFIG,
                "broker:9092",
                EmbedderConfig.BATCH_MAX_SIZE_CONFIG,
                8,
                StreamsConfig.NUM_STREAM_THREADS_CONFIG,
                2));
    ModelInfo model =
        new ModelInfo("mobilenet_v2_features_eac6fd98", "mobilenet_v2_features", 1280);

    Properties props = EmbedderApp.streamsProperties(config, model, new EmbedderConfig(config));

    assertThat(props)
        .containsEntry(
            StreamsConfig.APPLICATION_ID_CONFIG,
            "lookalike-embedder-mobilenet_v2_features_eac6fd98")
        .containsEntry(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2)
        .containsEntry(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 2)
        .doesNotContainKey(EmbedderConfig.BATCH_MAX_SIZE_CONFIG);
    assertThat((Integer) props.get("producer.max.request.size")).isGreaterThanOrEqualTo(2 << 20);
  }
}
