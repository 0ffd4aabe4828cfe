package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.registry.RegistryUnavailableException;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** How the admin API answers what the model lifecycle throws. */
class ModelAdminRoutesTest {

  @Test
  void shouldAnswerAQualityCheckThatCannotReachTheRegistryWith503RegistryUnavailable() {
    assertThatThrownBy(
            () ->
                ModelAdminRoutes.answer(
                    () -> {
                      throw new RegistryUnavailableException(
                          "Cannot fetch schema id 3 (schema registry unavailable, 3 attempts)",
                          new IOException("Connection refused"));
                    }))
        .isInstanceOfSatisfying(
            SearchException.class,
            e -> {
              assertThat(e.status()).isEqualTo(503);
              assertThat(e.code()).isEqualTo("registry_unavailable");
            })
        .hasMessageContaining("quality check not run")
        .hasMessageContaining("schema id 3");
  }
}
