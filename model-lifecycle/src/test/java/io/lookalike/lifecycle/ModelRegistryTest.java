package io.lookalike.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry file survives a restart and never points at a dropped model. */
class ModelRegistryTest {

  @TempDir Path tmp;

  @Test
  void shouldBringBackModelsAndTheActivePointerAfterARestart() {
    Path file = tmp.resolve("models.json");
    ModelRegistry registry = ModelRegistry.load(file);
    registry.put(
        new ModelRegistry.Entry("a_00000001", "a", "", 1280, "2026-01-01T00:00:00Z", null));
    registry.put(
        new ModelRegistry.Entry("b_00000002", "b", "/m/b.pt", 96, "2026-01-02T00:00:00Z", null));
    registry.activate("b_00000002");
    registry.put(registry.get("a_00000001").orElseThrow().withCaughtUpAt("2026-01-03T00:00:00Z"));

    ModelRegistry reloaded = ModelRegistry.load(file);

    assertThat(reloaded.active()).isEqualTo("b_00000002");
    assertThat(reloaded.models())
        .extracting(ModelRegistry.Entry::modelId)
        .containsExactly("b_00000002", "a_00000001");
    assertThat(reloaded.get("a_00000001").orElseThrow().caughtUpAt())
        .isEqualTo("2026-01-03T00:00:00Z");
    assertThat(reloaded.get("b_00000002").orElseThrow().url()).isEqualTo("/m/b.pt");
  }

  @Test
  void shouldClearTheActivePointerWhenItsModelIsRemoved() {
    ModelRegistry registry = ModelRegistry.load(tmp.resolve("models.json"));
    registry.put(
        new ModelRegistry.Entry("a_00000001", "a", "", 1280, "2026-01-01T00:00:00Z", null));
    registry.activate("a_00000001");
    registry.remove("a_00000001");
    assertThat(ModelRegistry.load(tmp.resolve("models.json")).active()).isNull();
    assertThat(registry.models()).isEmpty();
  }
}
