package io.lookalike.store;

import static io.lookalike.store.Images.image;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.ImageKey;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VersionedWritesTest {

  private static final float[] V = {1, 0};

  @Test
  void shouldSkipAnUpsertOlderThanTheStoredVersion() {
    VersionedWrites plan =
        VersionedWrites.plan(
            List.of(image("p1/i1", V, 3)), List.of(), Map.of("p1/i1", 5L)::get, 2, "m");

    assertThat(plan.upserts()).isEmpty();
    assertThat(plan.result()).isEqualTo(new VectorStore.WriteResult(0, 1, 0));
  }

  @Test
  void shouldKeepTheNewestOfAKeyWrittenTwiceInOneBatch() {
    VersionedWrites plan =
        VersionedWrites.plan(
            List.of(image("p1/i1", V, 2), image("p1/i1", V, 4), image("p1/i1", V, 3)),
            List.of(),
            key -> null,
            2,
            "m");

    assertThat(plan.upserts()).singleElement().extracting(StoredImage::version).isEqualTo(4L);
    assertThat(plan.result()).isEqualTo(new VectorStore.WriteResult(2, 1, 0));
  }

  @Test
  void shouldDropAnUpsertDeletedLaterInTheBatchAndCountOnlyDeletesOfSomething() {
    VersionedWrites plan =
        VersionedWrites.plan(
            List.of(image("p1/i1", V, 1)),
            List.of(ImageKey.parse("p1/i1"), ImageKey.parse("p2/i1")),
            key -> null,
            2,
            "m");

    assertThat(plan.upserts()).isEmpty();
    assertThat(plan.deletes()).hasSize(2);
    assertThat(plan.result()).isEqualTo(new VectorStore.WriteResult(1, 0, 1));
  }

  @Test
  void shouldRefuseAVectorOfAnotherDimension() {
    assertThatThrownBy(
            () ->
                VersionedWrites.plan(
                    List.of(image("p1/i1", new float[] {1, 0, 0}, 1)),
                    List.of(),
                    key -> null,
                    2,
                    "m"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("2 dimensions for model m, got 3");
  }
}
