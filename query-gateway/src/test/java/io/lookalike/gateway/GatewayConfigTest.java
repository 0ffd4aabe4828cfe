package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.registry.SchemaRegistryConfig;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class GatewayConfigTest {

  @Test
  void shouldDeclareTheRegistryKeysTheThumbnailFeederAndTheQualityCheckRead() {
    assertThat(GatewayConfig.CONFIG_DEF.names())
        .contains(
            SchemaRegistryConfig.URL_CONFIG,
            SchemaRegistryConfig.BASIC_AUTH_USER_INFO_CONFIG,
            SchemaRegistryConfig.SSL_TRUSTSTORE_LOCATION_CONFIG,
            SchemaRegistryConfig.SSL_TRUSTSTORE_PASSWORD_CONFIG,
            SchemaRegistryConfig.SSL_TRUSTSTORE_TYPE_CONFIG,
            SchemaRegistryConfig.REQUEST_TIMEOUT_MS_CONFIG);
    // the very definitions of SchemaRegistryConfig, not a copy
    assertThat(
            GatewayConfig.CONFIG_DEF
                .configKeys()
                .get(SchemaRegistryConfig.URL_CONFIG)
                .documentation)
        .isEqualTo(
            SchemaRegistryConfig.CONFIG_DEF
                .configKeys()
                .get(SchemaRegistryConfig.URL_CONFIG)
                .documentation);
  }

  @Test
  void shouldRefuseARegistryUrlThatIsNotHttpNamingKeyAndValue() {
    assertThatThrownBy(
            () -> new GatewayConfig(Map.of(SchemaRegistryConfig.URL_CONFIG, "ftp://registry:21")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(SchemaRegistryConfig.URL_CONFIG)
        .hasMessageContaining("ftp://registry:21");
  }

  @Test
  void shouldRefuseAnUnknownTrustStoreTypeNamingKeyAndValue() {
    assertThatThrownBy(
            () -> new GatewayConfig(Map.of(SchemaRegistryConfig.SSL_TRUSTSTORE_TYPE_CONFIG, "BKS")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(SchemaRegistryConfig.SSL_TRUSTSTORE_TYPE_CONFIG)
        .hasMessageContaining("BKS");
  }

  @Test
  void shouldHaveSafeDefaults() {
    GatewayConfig config = new GatewayConfig(Map.of());
    assertThat(config.port()).isEqualTo(8080);
    assertThat(config.host()).isEqualTo("127.0.0.1");
    assertThat(config.maxUploadBytes()).isEqualTo(10L * 1024 * 1024);
    assertThat(config.imagesAllowedDir()).isNull();
    assertThat(config.getInt(GatewayConfig.SEARCH_K_DEFAULT_CONFIG)).isEqualTo(10);
    assertThat(config.getInt(GatewayConfig.SEARCH_K_MAX_CONFIG)).isEqualTo(100);
  }

  @Test
  void shouldRefuseDefaultKAboveMaxK() {
    assertThatThrownBy(
            () ->
                new GatewayConfig(
                    Map.of(
                        GatewayConfig.SEARCH_K_DEFAULT_CONFIG,
                        "50",
                        GatewayConfig.SEARCH_K_MAX_CONFIG,
                        "20")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(GatewayConfig.SEARCH_K_DEFAULT_CONFIG)
        .hasMessageContaining("50");
  }

  @Test
  void shouldRefusePortOutOfRange() {
    assertThatThrownBy(() -> new GatewayConfig(Map.of(GatewayConfig.PORT_CONFIG, "70000")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(GatewayConfig.PORT_CONFIG);
  }

  @Test
  void shouldMirrorATenthOfLiveSearchesByDefault() {
    assertThat(new GatewayConfig(Map.of()).getDouble(GatewayConfig.SHADOW_SHARE_CONFIG))
        .isEqualTo(0.1);
  }

  @Test
  void shouldRefuseAShadowShareOutsideZeroToOneNamingKeyAndValue() {
    for (String share : new String[] {"1.5", "-0.1", "NaN"}) {
      assertThatThrownBy(() -> new GatewayConfig(Map.of(GatewayConfig.SHADOW_SHARE_CONFIG, share)))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining(GatewayConfig.SHADOW_SHARE_CONFIG)
          .hasMessageContaining(share)
          .hasMessageContaining("between 0 and 1");
    }
  }
}
