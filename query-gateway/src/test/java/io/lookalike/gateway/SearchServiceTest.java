package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.model.ModelInfo;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.StoredImage;
import io.lookalike.store.lucene.LuceneVectorStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Search rules on a real (small) Lucene index, with a stand-in embedder that maps a photo's first
 * byte to an axis.
 */
class SearchServiceTest {

  private static final int DIM = 4;
  private static final String MODEL = "test_model_00000000";

  @TempDir Path tmp;

  private LuceneVectorStore store;
  private final AtomicReference<ActiveModel> active = new AtomicReference<>();
  private final AxisEmbedder embedder = new AxisEmbedder();
  private SearchService service;

  @BeforeEach
  void setUp() {
    store = LuceneVectorStore.open(tmp.resolve(MODEL), MODEL, DIM);
    active.set(new ActiveModel(embedder, store));
    service = new SearchService(active::get, photo -> photo, url -> new byte[] {2}, 3, 20);
    List<StoredImage> images = new ArrayList<>();
    // 10 products near axis 0, each with 5 images all closer to the query than any other product's.
    for (int p = 0; p < 10; p++) {
      for (int i = 0; i < 5; i++) {
        images.add(
            GatewayFixture.image(
                "p" + p,
                "i" + i,
                i,
                unit(1, 0.01f * p + 0.001f * i, 0, 0),
                "https://example.com/" + p + "/" + i,
                p < 5 ? "shirt" : "pants",
                p));
      }
    }
    images.add(
        GatewayFixture.image(
            "far", "main", 0, unit(0, 0, 1, 0), "https://example.com/far", "hat", 0));
    store.write(images, List.of());
  }

  @AfterEach
  void tearDown() {
    store.close();
  }

  @Test
  void shouldReturnEachProductOnceAndFillKDespiteManyImagesPerProduct() {
    SearchResponse response = service.byVector(new float[] {1, 0, 0, 0}, 8, SearchFilter.NONE);

    List<String> ids = response.results().stream().map(SearchResponse.Match::productId).toList();
    assertThat(ids).containsExactly("p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7");
    assertThat(response.results()).allSatisfy(m -> assertThat(m.imageId()).isEqualTo("i0"));
    assertThat(response.modelId()).isEqualTo(MODEL);
    assertThat(response.by()).isEqualTo("vector");
  }

  @Test
  void shouldUseDefaultKWhenNoneGiven() {
    assertThat(service.byPhoto(new byte[] {0}, null, SearchFilter.NONE).results()).hasSize(3);
  }

  @Test
  void shouldLeaveQueriedProductOutOfItsSimilarProducts() {
    SearchResponse response = service.byProduct("p0", 4, SearchFilter.NONE);
    assertThat(response.results())
        .extracting(SearchResponse.Match::productId)
        .containsExactly("p1", "p2", "p3", "p4");
  }

  @Test
  void shouldPassFiltersToTheStore() {
    SearchResponse response =
        service.byVector(
            new float[] {1, 0, 0, 0},
            20,
            new SearchFilter(Set.of("pants"), null, null, 45.0, null));
    assertThat(response.results())
        .extracting(SearchResponse.Match::productId)
        .containsExactly("p5", "p6", "p7");
  }

  @Test
  void shouldNormaliseRawVectors() {
    float[] normalised = SearchService.normalised(new float[] {3, 0, 4, 0}, DIM);
    assertThat(normalised[0]).isCloseTo(0.6f, within(1e-6f));
    assertThat(normalised[2]).isCloseTo(0.8f, within(1e-6f));
  }

  @Test
  void shouldRefuseVectorsOfWrongDimensionOrWithoutDirection() {
    assertCode(() -> service.byVector(new float[] {1, 0}, 3, null), ErrorCode.BAD_VECTOR);
    assertCode(() -> service.byVector(new float[] {0, 0, 0, 0}, 3, null), ErrorCode.BAD_VECTOR);
    assertCode(
        () -> service.byVector(new float[] {Float.NaN, 0, 0, 0}, 3, null), ErrorCode.BAD_VECTOR);
  }

  @Test
  void shouldRefuseKOutOfRange() {
    assertCode(() -> service.byVector(new float[] {1, 0, 0, 0}, 0, null), ErrorCode.BAD_REQUEST);
    assertCode(() -> service.byVector(new float[] {1, 0, 0, 0}, 21, null), ErrorCode.BAD_REQUEST);
  }

  @Test
  void shouldAnswerUnknownProductWithNotFound() {
    assertCode(() -> service.byProduct("nope", 3, null), ErrorCode.NOT_FOUND);
  }

  @Test
  void shouldNeverCompareVectorsOfDifferentModels(@TempDir Path other) {
    try (LuceneVectorStore otherModel =
        LuceneVectorStore.open(other, "other_model_11111111", DIM)) {
      active.set(new ActiveModel(embedder, otherModel));
      assertCode(
          () -> service.byVector(new float[] {1, 0, 0, 0}, 3, null), ErrorCode.MODEL_MISMATCH);
      assertCode(() -> service.byPhoto(new byte[] {0}, 3, null), ErrorCode.MODEL_MISMATCH);
    }
  }

  @Test
  void shouldEmbedTheQueryWithTheModelOfTheIndexItSearchesAfterASwitch(@TempDir Path other) {
    try (LuceneVectorStore next = LuceneVectorStore.open(other, "next_model_22222222", DIM)) {
      // The next model maps a photo to the axis after the current model's.
      next.write(
          List.of(
              GatewayFixture.image(
                  "on-axis-1", "main", 0, unit(0, 1, 0, 0), "https://example.com/1", "hat", 0),
              GatewayFixture.image(
                  "on-axis-2", "main", 0, unit(0, 0, 1, 0), "https://example.com/2", "hat", 1)),
          List.of());
      active.set(new ActiveModel(new AxisEmbedder("next_model_22222222", 1), next));

      SearchResponse response = service.byPhoto(new byte[] {1}, 1, null);

      assertThat(response.modelId()).isEqualTo("next_model_22222222");
      assertThat(response.results())
          .extracting(SearchResponse.Match::productId)
          .containsExactly("on-axis-2");
      assertThat(service.modelId()).isEqualTo("next_model_22222222");
    }
  }

  @Test
  void shouldAnswerNoIndexWhileNoModelIsActive() {
    active.set(null);
    assertCode(() -> service.byVector(new float[] {1, 0, 0, 0}, 3, null), ErrorCode.NO_INDEX);
    assertThat(service.modelId()).isNull();
  }

  @Test
  void shouldSearchByDownloadedUrl() {
    SearchResponse response = service.byUrl("https://example.com/q.jpg", 1, null);
    assertThat(response.by()).isEqualTo("url");
    assertThat(response.results())
        .extracting(SearchResponse.Match::productId)
        .containsExactly("far");
  }

  private static void assertCode(Runnable search, ErrorCode error) {
    assertThatThrownBy(search::run)
        .isInstanceOfSatisfying(
            SearchException.class,
            e -> {
              assertThat(e.error()).isEqualTo(error);
              assertThat(e.status()).isEqualTo(error.status());
            });
  }

  private static float[] unit(float... v) {
    return SearchService.normalised(v, v.length);
  }

  /** Photo {@code {n}} embeds to the unit vector of axis n (plus a shift, mod DIM). */
  private static final class AxisEmbedder implements Embedder {
    private final String modelId;
    private final int shift;

    AxisEmbedder() {
      this(MODEL, 0);
    }

    AxisEmbedder(String modelId, int shift) {
      this.modelId = modelId;
      this.shift = shift;
    }

    @Override
    public ModelInfo model() {
      return new ModelInfo(modelId, "test", DIM);
    }

    @Override
    public List<EmbeddingResult> embed(List<byte[]> images) {
      return images.stream()
          .map(
              b -> {
                float[] v = new float[DIM];
                v[(b[0] + shift) % DIM] = 1;
                return (EmbeddingResult) new EmbeddingResult.Vector(v);
              })
          .toList();
    }

    @Override
    public void close() {}
  }
}
