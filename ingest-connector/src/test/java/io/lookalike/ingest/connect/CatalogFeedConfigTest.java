package io.lookalike.ingest.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.ConnectorChecks;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.source.SourceConnector;
import org.junit.jupiter.api.Test;

class CatalogFeedConfigTest {

  @Test
  void shouldRefuseConfigWithNothingToRead() {
    assertThatThrownBy(() -> new CatalogFeedConfig(Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(CatalogFeedConfig.DIR_CONFIG)
        .hasMessageContaining(CatalogFeedConfig.URL_CONFIG);
  }

  @Test
  void shouldRefuseNonHttpFeedUrlNamingKeyAndValue() {
    assertThatThrownBy(
            () -> new CatalogFeedConfig(Map.of(CatalogFeedConfig.URL_CONFIG, "ftp://pim/feed.csv")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(CatalogFeedConfig.URL_CONFIG)
        .hasMessageContaining("ftp://pim/feed.csv");
  }

  @Test
  void shouldRefuseUnknownUrlFormat() {
    assertThatThrownBy(
            () ->
                new CatalogFeedConfig(
                    Map.of(
                        CatalogFeedConfig.DIR_CONFIG,
                        "/feeds",
                        CatalogFeedConfig.URL_FORMAT_CONFIG,
                        "xml")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(CatalogFeedConfig.URL_FORMAT_CONFIG);
  }

  @Test
  void shouldKeepBearerTokenOutOfToString() {
    CatalogFeedConfig config =
        new CatalogFeedConfig(
            Map.of(
                CatalogFeedConfig.URL_CONFIG,
                "https://pim.example.com/feed",
                CatalogFeedConfig.URL_BEARER_TOKEN_CONFIG,
                "s3cret"));
    assertThat(config.bearerToken()).isEqualTo("s3cret");
    assertThat(config.values().toString()).doesNotContain("s3cret");
  }

  @Test
  void shouldRegisterConnectorAsServiceWithOneTaskAndExactlyOnceSupport() {
    assertThat(ServiceLoader.load(SourceConnector.class).stream().map(ServiceLoader.Provider::type))
        .contains(CatalogFeedSourceConnector.class);
    CatalogFeedSourceConnector connector = new CatalogFeedSourceConnector();
    connector.start(
        Map.of(
            CatalogFeedConfig.DIR_CONFIG,
            "/feeds",
            "key.converter",
            ConnectorChecks.STRING_CONVERTER,
            "value.converter",
            ConnectorChecks.BYTE_ARRAY_CONVERTER));
    assertThat(connector.taskConfigs(4)).hasSize(1);
    assertThat(connector.exactlyOnceSupport(Map.of()))
        .isEqualTo(org.apache.kafka.connect.source.ExactlyOnceSupport.SUPPORTED);
  }

  @Test
  void shouldReportTheProjectVersionNotKafkas() {
    // the Maven-filtered resource: the pom's version, not Kafka's (4.3.1) and not unfiltered
    assertThat(new CatalogFeedSourceConnector().version())
        .matches("\\d+\\.\\d+\\.\\d+.*")
        .isNotEqualTo(org.apache.kafka.common.utils.AppInfoParser.getVersion());
    assertThat(new CatalogFeedSourceTask().version())
        .isEqualTo(new CatalogFeedSourceConnector().version());
  }

  @Test
  void shouldFailValidationWithNeitherFeedDirNorFeedUrl() {
    Map<String, List<String>> errors =
        errors(new CatalogFeedSourceConnector().validate(withConverters(Map.of())));
    assertThat(errors.get(CatalogFeedConfig.DIR_CONFIG))
        .anyMatch(m -> m.contains("nothing to read"));
    assertThat(errors.get(CatalogFeedConfig.URL_CONFIG))
        .anyMatch(m -> m.contains("nothing to read"));
  }

  @Test
  void shouldFailValidationAndStartWhenConvertersAreNotSetOrWrongNamingTheOneToUse() {
    Map<String, String> props =
        Map.of(
            CatalogFeedConfig.DIR_CONFIG,
            "/feeds",
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter");
    Map<String, List<String>> errors = errors(new CatalogFeedSourceConnector().validate(props));
    assertThat(errors.get("value.converter"))
        .singleElement()
        .asString()
        .contains("JsonConverter")
        .contains(ConnectorChecks.BYTE_ARRAY_CONVERTER);
    assertThat(errors.get("key.converter"))
        .singleElement()
        .asString()
        .contains("not set")
        .contains(ConnectorChecks.STRING_CONVERTER);
    assertThatThrownBy(() -> new CatalogFeedSourceConnector().start(props))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(ConnectorChecks.BYTE_ARRAY_CONVERTER);
  }

  @Test
  void shouldPassValidationOfTheSampleConfig() throws Exception {
    Map<String, String> sample =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readValue(
                java.nio.file.Path.of("../deploy/compose/connect-catalog-feed.json").toFile(),
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, String>>() {});
    assertThat(errors(new CatalogFeedSourceConnector().validate(sample))).isEmpty();
    assertThat(ConnectorChecks.unknownKeys(sample, CatalogFeedConfig.CONFIG_DEF)).isEmpty();
  }

  @Test
  void shouldWarnAboutUnknownKeysNamingTheNearestKnownOne() {
    assertThat(
            ConnectorChecks.unknownKeys(
                withConverters(
                    Map.of(
                        "feed.directory",
                        "/feeds",
                        "tasks.max",
                        "1",
                        "transforms.x.type",
                        "y",
                        "errors.tolerance",
                        "all")),
                CatalogFeedConfig.CONFIG_DEF))
        .containsExactly("Unknown setting 'feed.directory' is ignored (did you mean 'feed.dir'?)");
  }

  private static Map<String, String> withConverters(Map<String, String> props) {
    Map<String, String> all = new java.util.HashMap<>(props);
    all.put("key.converter", ConnectorChecks.STRING_CONVERTER);
    all.put("value.converter", ConnectorChecks.BYTE_ARRAY_CONVERTER);
    return all;
  }

  /** The error messages of a validation result, by key, for the keys that have any. */
  private static Map<String, List<String>> errors(org.apache.kafka.common.config.Config config) {
    Map<String, List<String>> errors = new java.util.HashMap<>();
    config.configValues().stream()
        .filter(v -> !v.errorMessages().isEmpty())
        .forEach(
            v ->
                errors
                    .computeIfAbsent(v.name(), k -> new java.util.ArrayList<>())
                    .addAll(v.errorMessages()));
    return errors;
  }
}
