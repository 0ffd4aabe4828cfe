package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

class FetcherConfigTest {

  @Test
  void shouldFailNamingKeyAndValueOfWrongSetting() {
    assertThatThrownBy(() -> new FetcherConfig(Map.of(FetcherConfig.FETCH_RETRIES_CONFIG, "-1")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(FetcherConfig.FETCH_RETRIES_CONFIG)
        .hasMessageContaining("-1");
  }

  @Test
  void shouldUseDefaultsWhenNothingIsSet() {
    FetcherConfig config = new FetcherConfig(Map.of());
    assertThat(config.getLong(FetcherConfig.FETCH_MAX_BYTES_CONFIG)).isEqualTo(10L * 1024 * 1024);
    assertThat(config.getBoolean(FetcherConfig.FETCH_ALLOW_FILE_CONFIG)).isFalse();
    assertThat(config.topics().productImages()).isEqualTo("catalog.product-images");
  }

  @Test
  void shouldRunExactlyOnceWithLargeRecordsAndKeepOurKeysOutOfStreamsConfig() {
    Properties props =
        FetcherApp.streamsProperties(
            Map.of(
                StreamsConfig.BOOTSTRAP_SERVERS_CONFIG,
                "localhost:9092",
                FetcherConfig.FETCH_RETRIES_CONFIG,
                1));
    assertThat(props.get(StreamsConfig.APPLICATION_ID_CONFIG)).isEqualTo("lookalike-fetcher");
    assertThat(props.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG))
        .isEqualTo(StreamsConfig.EXACTLY_ONCE_V2);
    assertThat(props.get(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)))
        .isEqualTo(16 << 20);
    assertThat(props).doesNotContainKey(FetcherConfig.FETCH_RETRIES_CONFIG);
  }
}
