package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The thumbnail feeder's Kafka consumer gets the stage's client settings, then its own. */
class ThumbnailFeederTest {

  @Test
  void shouldPassTheStagesSecuritySettingsAndKeepItsOwn() {
    Map<String, Object> props =
        ThumbnailFeeder.consumerProperties(
            Map.of(
                "bootstrap.servers", "broker:9093",
                "security.protocol", "SASL_SSL",
                "sasl.mechanism", "SCRAM-SHA-512",
                "sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                "ssl.truststore.location", "/etc/kafka/truststore.p12",
                "group.id", "someone-elses-group",
                "enable.auto.commit", "true",
                "milvus.uri", "http://milvus:19530"));

    assertThat(props)
        .containsEntry("bootstrap.servers", "broker:9093")
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
        .containsEntry("ssl.truststore.location", "/etc/kafka/truststore.p12")
        .containsKey("sasl.jaas.config")
        .containsEntry("enable.auto.commit", "false")
        .containsEntry("auto.offset.reset", "earliest")
        .containsEntry("isolation.level", "read_committed")
        .doesNotContainKey("group.id")
        .doesNotContainKey("milvus.uri");
  }
}
