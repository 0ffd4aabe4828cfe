package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class GatewayConfigTest {

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
