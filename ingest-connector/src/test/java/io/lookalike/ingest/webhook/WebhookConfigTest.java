package io.lookalike.ingest.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class WebhookConfigTest {

  @Test
  void shouldRequireSecretUnlessAuthIsNone() {
    assertThatThrownBy(
            () ->
                new WebhookConfig(Map.of(WebhookConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9092")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(WebhookConfig.SECRET_CONFIG);
    new WebhookConfig(
        Map.of(
            WebhookConfig.BOOTSTRAP_SERVERS_CONFIG,
            "localhost:9092",
            WebhookConfig.AUTH_CONFIG,
            "none"));
  }

  @Test
  void shouldProduceWithAcksAllAndShortTimeouts() {
    Map<String, Object> props =
        WebhookReceiver.producerConfig(
            new WebhookConfig(
                Map.of(
                    WebhookConfig.BOOTSTRAP_SERVERS_CONFIG,
                    "localhost:9092",
                    WebhookConfig.SECRET_CONFIG,
                    "x",
                    WebhookConfig.ACK_TIMEOUT_MS_CONFIG,
                    "3000",
                    "producer.compression.type",
                    "zstd")));
    assertThat(props)
        .containsEntry(ProducerConfig.ACKS_CONFIG, "all")
        .containsEntry(ProducerConfig.MAX_BLOCK_MS_CONFIG, 3000)
        .containsEntry(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 3000)
        .containsEntry(ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd");
  }

  @Test
  void shouldKeepSecretOutOfToString() {
    WebhookConfig config =
        new WebhookConfig(
            Map.of(
                WebhookConfig.BOOTSTRAP_SERVERS_CONFIG,
                "localhost:9092",
                WebhookConfig.SECRET_CONFIG,
                "s3cret"));
    assertThat(config.values().toString()).doesNotContain("s3cret");
  }
}
