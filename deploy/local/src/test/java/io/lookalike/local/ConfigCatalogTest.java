package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.config.ConfigDef;
import org.junit.jupiter.api.Test;

class ConfigCatalogTest {

  /**
   * The one doc-completeness check: every key of every ConfigDef has a doc, and numbers have a
   * range.
   */
  @Test
  void shouldDocumentEverySettingOfEveryConfigDef() {
    assertThat(ConfigCatalog.sections()).hasSizeGreaterThanOrEqualTo(11);
    for (ConfigCatalog.Section section : ConfigCatalog.sections()) {
      assertThat(section.def().configKeys()).as(section.title()).isNotEmpty();
      for (ConfigDef.ConfigKey key : section.def().configKeys().values()) {
        assertThat(key.documentation).as(section.title() + ": doc of " + key.name).isNotBlank();
        if (key.type == ConfigDef.Type.INT
            || key.type == ConfigDef.Type.LONG
            || key.type == ConfigDef.Type.DOUBLE) {
          assertThat(key.validator).as(section.title() + ": range of " + key.name).isNotNull();
        }
      }
    }
  }

  @Test
  void shouldKnowTheKeysThatWereReadWithoutAConfigDef() {
    assertThat(ConfigCatalog.ourKeys())
        .contains("gateway.admin.allow.remote", "gateway.alias.refresh.ms", "reembed.drop.delay.ms")
        .doesNotContain("model.batch.max.size");
  }

  @Test
  void shouldNameTheNearestKnownKeyOfAMistypedSetting() {
    assertThat(ConfigCatalog.unknownSettings(Map.of("embed.batch.size", "16")))
        .containsExactly(
            "unknown setting embed.batch.size=16 — did you mean embed.batch.max.size?");
  }

  @Test
  void shouldRefuseAWrongValueBeforeAnythingStartsNamingKeyAndValue() {
    assertThatThrownBy(
            () ->
                ConfigCatalog.validate(
                    Map.of("embed.batch.max.size", "0", "gateway.admin.allow.remote", "yes")))
        .isInstanceOfSatisfying(
            StartupException.class,
            e ->
                assertThat(e.problems())
                    .containsExactly(
                        "Invalid value 0 for configuration embed.batch.max.size: Value must be at least 1",
                        "Invalid value yes for configuration gateway.admin.allow.remote: Expected value to be either true or false"));
    ConfigCatalog.validate(
        Map.of("embed.batch.max.size", "16", "num.stream.threads", "2", "unknown.key", "x"));
  }

  @Test
  void shouldAcceptKafkaClientAndStreamsSettingsWithOrWithoutAClientPrefix() {
    assertThat(
            ConfigCatalog.unknownSettings(
                Map.of(
                    "num.stream.threads",
                    "2",
                    "producer.compression.type",
                    "lz4",
                    "main.consumer.max.poll.records",
                    "50",
                    "topic.min.insync.replicas",
                    "2",
                    "group.id",
                    "g",
                    "bootstrap.servers",
                    "localhost:9092",
                    "topic.product-events",
                    "shop.events")))
        .isEmpty();
  }

  @Test
  void shouldWarnAboutASettingGivenAsAJvmSystemProperty() {
    Properties system = new Properties();
    system.setProperty("embed.batch.size", "16");
    system.setProperty("embed.batch.max.size", "16");
    system.setProperty("java.version", "17");

    assertThat(ConfigCatalog.settingsGivenAsSystemProperties(system))
        .containsExactly(
            "system property embed.batch.max.size is not read: give settings after the command, e.g. lookalike local "
                + "-Dembed.batch.max.size=...",
            "system property embed.batch.size=16 — did you mean embed.batch.max.size? (settings go after the command: "
                + "lookalike local -Dkey=value)");
  }
}
