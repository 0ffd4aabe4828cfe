package io.lookalike.ingest.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
        .hasMessageContaining(CatalogFeedConfig.DIR_CONFIG).hasMessageContaining(CatalogFeedConfig.URL_CONFIG);
  }

  @Test
  void shouldRefuseNonHttpFeedUrlNamingKeyAndValue() {
    assertThatThrownBy(() -> new CatalogFeedConfig(Map.of(CatalogFeedConfig.URL_CONFIG, "ftp://pim/feed.csv")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(CatalogFeedConfig.URL_CONFIG).hasMessageContaining("ftp://pim/feed.csv");
  }

  @Test
  void shouldRefuseUnknownUrlFormat() {
    assertThatThrownBy(() -> new CatalogFeedConfig(Map.of(CatalogFeedConfig.DIR_CONFIG, "/feeds",
        CatalogFeedConfig.URL_FORMAT_CONFIG, "xml")))
        .isInstanceOf(ConfigException.class).hasMessageContaining(CatalogFeedConfig.URL_FORMAT_CONFIG);
  }

  @Test
  void shouldKeepBearerTokenOutOfToString() {
    CatalogFeedConfig config = new CatalogFeedConfig(Map.of(CatalogFeedConfig.URL_CONFIG, "https://pim.example.com/feed",
        CatalogFeedConfig.URL_BEARER_TOKEN_CONFIG, "s3cret"));
    assertThat(config.bearerToken()).isEqualTo("s3cret");
    assertThat(config.values().toString()).doesNotContain("s3cret");
  }

  @Test
  void shouldRegisterConnectorAsServiceWithOneTaskAndExactlyOnceSupport() {
    assertThat(ServiceLoader.load(SourceConnector.class).stream().map(ServiceLoader.Provider::type))
        .contains(CatalogFeedSourceConnector.class);
    CatalogFeedSourceConnector connector = new CatalogFeedSourceConnector();
    connector.start(Map.of(CatalogFeedConfig.DIR_CONFIG, "/feeds"));
    assertThat(connector.taskConfigs(4)).hasSize(1);
    assertThat(connector.exactlyOnceSupport(Map.of())).isEqualTo(org.apache.kafka.connect.source.ExactlyOnceSupport.SUPPORTED);
  }
}
