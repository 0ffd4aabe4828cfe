package io.lookalike.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class UnknownSettingsTest {

  @Test
  void shouldNameTheNearestKnownKeyOfAMistypedSetting() {
    List<String> problems =
        UnknownSettings.describe(
            Map.of("embed.batch.size", "16", "embed.batch.max.size", "8"),
            List.of("embed.batch.max.size", "embed.batch.max.wait.ms")::contains,
            List.of("embed.batch.max.size", "embed.batch.max.wait.ms", "gateway.port"));

    assertThat(problems)
        .containsExactly(
            "unknown setting embed.batch.size=16 — did you mean embed.batch.max.size?");
  }

  @Test
  void shouldSuggestNothingWhenNoKeyIsClose() {
    assertThat(
            UnknownSettings.describe(
                Map.of("zzz", "1"), key -> false, List.of("gateway.alias.refresh.ms")))
        .containsExactly("unknown setting zzz=1 (no known setting is close)");
  }

  @Test
  void shouldNotRepeatTheValueOfWhatLooksLikeASecret() {
    assertThat(
            UnknownSettings.describe(
                Map.of("milvus.tokn", "s3cr3t"), key -> false, List.of("milvus.token")))
        .containsExactly("unknown setting milvus.tokn=[hidden] — did you mean milvus.token?");
  }

  @Test
  void shouldWarnOnlyAboutKeysWithThePrefixesOfTheConnectorsOwn() {
    List<String> problems =
        UnknownSettings.warnAboutOwnPrefixes(
            Map.of(
                "topic.product-event",
                "x",
                "topic.creation.default.partitions",
                "3",
                "tasks.max",
                "1",
                "topic.dead-letters",
                "dl"),
            Topics.CONFIG_DEF,
            LoggerFactory.getLogger(UnknownSettingsTest.class));

    assertThat(problems)
        .containsExactly(
            "unknown setting topic.product-event=x — did you mean topic.product-events?");
  }
}
