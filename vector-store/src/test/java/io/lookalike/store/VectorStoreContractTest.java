package io.lookalike.store;

import static io.lookalike.store.Images.image;
import static io.lookalike.store.Images.product;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.lookalike.schemas.ImageKey;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link VectorStore} must do, whatever the engine: each store's test extends this and
 * says how to open one.
 */
public abstract class VectorStoreContractTest {

  protected static final int DIM = 32;
  protected static final String MODEL = "test_model";

  protected VectorStore store;
  protected final ClusteredVectors vectors = new ClusteredVectors(DIM, 8, 0.3f, 42);

  /** A new, empty store of {@code modelId} with vectors of {@code dimension}. */
  protected abstract VectorStore open(String modelId, int dimension);

  @BeforeEach
  void openStore() {
    store = open(MODEL, DIM);
  }

  @AfterEach
  void closeStore() {
    if (store != null) {
      store.close();
    }
  }

  @Test
  void shouldFindUpsertedImageWithAllItsFields() {
    float[] v = vectors.next();
    StoredImage written = image("p1/1", v, 3);
    store.write(List.of(written, image("p2/0", vectors.next(), 1)), List.of());

    List<SearchHit> hits = store.search(v, 1, SearchFilter.NONE);

    assertThat(hits).hasSize(1);
    assertThat(hits.get(0).score()).isCloseTo(1f, within(1e-4f));
    StoredImage found = hits.get(0).image();
    assertThat(found.vector()).containsExactly(v, within(1e-6f));
    assertThat(found).usingRecursiveComparison().ignoringFields("vector").isEqualTo(written);
    assertThat(store.get(ImageKey.parse("p1/1")))
        .hasValueSatisfying(i -> assertThat(i.version()).isEqualTo(3));
    assertThat(store.count()).isEqualTo(2);
  }

  @Test
  void shouldKeepMissingOptionalFieldsMissing() {
    StoredImage bare = image("p1/0", vectors.next(), 1, null, null, null, null);

    store.write(List.of(bare), List.of());

    assertThat(store.get(ImageKey.parse("p1/0")).orElseThrow())
        .usingRecursiveComparison()
        .ignoringFields("vector")
        .isEqualTo(bare);
  }

  @Test
  void shouldRankByCosineSimilarity() {
    List<StoredImage> images =
        IntStream.range(0, 50).mapToObj(i -> image("p" + i + "/0", vectors.next(), 1)).toList();
    store.write(images, List.of());
    float[] query = vectors.next();

    List<SearchHit> hits = store.search(query, 5, SearchFilter.NONE);

    List<String> exact =
        images.stream()
            .sorted(Comparator.comparingDouble(i -> -ClusteredVectors.dot(query, i.vector())))
            .limit(5)
            .map(i -> i.key().toString())
            .toList();
    assertThat(hits).extracting(h -> h.image().key().toString()).containsExactlyElementsOf(exact);
    assertThat(hits.get(0).score())
        .isCloseTo(
            ClusteredVectors.dot(
                query,
                images.stream()
                    .filter(i -> i.key().toString().equals(exact.get(0)))
                    .findFirst()
                    .orElseThrow()
                    .vector()),
            within(1e-4f));
  }

  @Test
  void shouldRemoveDeletedImages() {
    store.write(
        List.of(image("p1/0", vectors.next(), 1), image("p1/1", vectors.next(), 1)), List.of());

    VectorStore.WriteResult result =
        store.write(List.of(), List.of(ImageKey.parse("p1/0"), ImageKey.parse("p9/9")));

    assertThat(result.deleted()).isEqualTo(1);
    assertThat(store.get(ImageKey.parse("p1/0"))).isEmpty();
    assertThat(store.count()).isEqualTo(1);
    assertThat(store.search(vectors.next(), 10, SearchFilter.NONE)).hasSize(1);
  }

  @Test
  void shouldNotOverwriteNewerVersion() {
    store.write(List.of(image("p1/0", vectors.next(), 5)), List.of());

    VectorStore.WriteResult result =
        store.write(List.of(image("p1/0", vectors.next(), 4)), List.of());

    assertThat(result).isEqualTo(new VectorStore.WriteResult(0, 1, 0));
    assertThat(store.get(ImageKey.parse("p1/0")).orElseThrow().version()).isEqualTo(5);
  }

  @Test
  void shouldOverwriteEqualVersionSoThatReplaysAreIdempotent() {
    store.write(List.of(image("p1/0", vectors.next(), 5)), List.of());
    StoredImage replay = image("p1/0", vectors.next(), 5);

    VectorStore.WriteResult result = store.write(List.of(replay), List.of());

    assertThat(result.upserted()).isEqualTo(1);
    assertThat(store.get(ImageKey.parse("p1/0")).orElseThrow().vector())
        .containsExactly(replay.vector(), within(1e-6f));
    assertThat(store.count()).isEqualTo(1);
  }

  @Test
  void shouldApplyUpsertsOfOneBatchInOrderWithTheVersionGuard() {
    VectorStore.WriteResult result =
        store.write(
            List.of(
                image("p1/0", vectors.next(), 2),
                image("p1/0", vectors.next(), 1),
                image("p1/0", vectors.next(), 3)),
            List.of());

    assertThat(result).isEqualTo(new VectorStore.WriteResult(2, 1, 0));
    assertThat(store.get(ImageKey.parse("p1/0")).orElseThrow().version()).isEqualTo(3);
    assertThat(store.count()).isEqualTo(1);
  }

  @Test
  void shouldLetADeleteWinOverAnUpsertOfTheSameWrite() {
    store.write(List.of(image("p1/0", vectors.next(), 1)), List.of(ImageKey.parse("p1/0")));

    assertThat(store.get(ImageKey.parse("p1/0"))).isEmpty();
    assertThat(store.count()).isZero();
  }

  @Test
  void shouldFilterByCategoryCaseInsensitively() {
    writeCatalog();
    assertThat(keys(new SearchFilter(Set.of("DRESSES"), null, null, null, null)))
        .containsOnly("p1/0", "p2/0");
  }

  @Test
  void shouldFilterByBrandCaseInsensitively() {
    writeCatalog();
    assertThat(keys(new SearchFilter(null, Set.of("zeta", "ACME"), null, null, null)))
        .containsOnly("p1/0", "p3/0", "p4/0");
  }

  @Test
  void shouldFilterByAvailability() {
    writeCatalog();
    assertThat(keys(new SearchFilter(null, null, null, null, Set.of("out_of_stock"))))
        .containsOnly("p2/0");
  }

  @Test
  void shouldFilterByInclusivePriceRange() {
    writeCatalog();
    assertThat(keys(new SearchFilter(null, null, 20.0, 50.0, null))).containsOnly("p1/0", "p3/0");
    assertThat(keys(new SearchFilter(null, null, null, 19.99, null))).containsOnly("p2/0");
    assertThat(keys(new SearchFilter(null, null, 100.0, null, null))).containsOnly("p4/0");
  }

  @Test
  void shouldCombineFilters() {
    writeCatalog();
    assertThat(
            keys(
                new SearchFilter(
                    Set.of("dresses"), Set.of("acme"), null, 60.0, Set.of("in_stock"))))
        .containsOnly("p1/0");
  }

  @Test
  void shouldNotWidenTheResultWhenAFilterValueLooksLikeAnExpression() {
    writeCatalog();
    for (String hostile :
        List.of(
            "x\" or category != \"",
            "x' or brand != '",
            "dresses\" || true || \"",
            "dresses\") or (1 == 1",
            "{categories}",
            "\\\" or 1==1 or \\\"")) {
      assertThat(keys(new SearchFilter(Set.of(hostile), null, null, null, null)))
          .as(hostile)
          .isEmpty();
      assertThat(keys(new SearchFilter(null, Set.of(hostile), null, null, null)))
          .as(hostile)
          .isEmpty();
    }
  }

  @Test
  void shouldListImagesOfOneProductByPosition() {
    store.write(
        List.of(
            image("p1/2", vectors.next(), 1),
            image("p1/0", vectors.next(), 1),
            image("p1/1", vectors.next(), 1),
            image("p10/0", vectors.next(), 1)),
        List.of());

    assertThat(store.imagesOf("p1"))
        .extracting(i -> i.key().toString())
        .containsExactly("p1/0", "p1/1", "p1/2");
    assertThat(store.imagesOf("nope")).isEmpty();
  }

  @Test
  void shouldRejectVectorOfWrongDimension() {
    assertThatThrownBy(() -> store.search(new float[DIM + 1], 10, SearchFilter.NONE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(Integer.toString(DIM));
  }

  @Test
  void shouldTellItsModelAndDimension() {
    assertThat(store.modelId()).isEqualTo(MODEL);
    assertThat(store.dimension()).isEqualTo(DIM);
  }

  @Test
  void shouldFindProductsByTextInTitleBrandCategoryAndAttributes() {
    writeTextCatalog();

    assertThat(textKeys("northwind", 10, SearchFilter.NONE)).containsOnly("p2/0", "p4/0");
    assertThat(textKeys("NorthWind", 10, SearchFilter.NONE)).containsOnly("p2/0", "p4/0");
    assertThat(textKeys("coats", 10, SearchFilter.NONE)).containsExactly("p2/0");
    assertThat(textKeys("blue", 10, SearchFilter.NONE)).containsExactly("p4/0");
    assertThat(textKeys("xylophone", 10, SearchFilter.NONE)).isEmpty();
  }

  @Test
  void shouldRankTheProductMatchingMoreQueryTermsFirst() {
    writeTextCatalog();

    List<SearchHit> hits = store.searchText("summer dress", 10, SearchFilter.NONE);

    assertThat(hits)
        .extracting(h -> h.image().key().toString())
        .containsExactlyInAnyOrder("p1/0", "p3/0", "p4/0");
    assertThat(hits.get(0).image().key().toString()).isEqualTo("p1/0");
    assertThat(hits)
        .extracting(SearchHit::score)
        .isSortedAccordingTo(Comparator.reverseOrder())
        .allSatisfy(score -> assertThat(score).isPositive());
    assertThat(hits.get(0).image().title()).isEqualTo("Linen summer dress");
  }

  @Test
  void shouldFilterAndLimitATextSearch() {
    writeTextCatalog();

    assertThat(textKeys("black", 10, new SearchFilter(null, Set.of("northwind"), null, null, null)))
        .containsExactly("p2/0");
    assertThat(textKeys("black", 1, SearchFilter.NONE)).hasSize(1);
    assertThat(textKeys("   ", 10, SearchFilter.NONE)).isEmpty();
  }

  @Test
  void shouldNotFindADeletedProductByText() {
    writeTextCatalog();

    store.write(List.of(), List.of(ImageKey.parse("p2/0")));

    assertThat(textKeys("northwind", 10, SearchFilter.NONE)).containsExactly("p4/0");
  }

  protected void writeTextCatalog() {
    store.write(
        List.of(
            product(
                "p1/0",
                vectors.next(),
                "Linen summer dress",
                "Acme",
                "Dresses",
                Map.of("colour", "black")),
            product(
                "p2/0",
                vectors.next(),
                "Wool coat",
                "Northwind",
                "Coats",
                Map.of("colour", "black")),
            product(
                "p3/0", vectors.next(), "Summer sandals", "Zeta", "Shoes", Map.of("colour", "red")),
            product(
                "p4/0",
                vectors.next(),
                "Cotton dress",
                "Northwind",
                "Dresses",
                Map.of("colour", "blue")),
            product("p5/0", vectors.next(), null, null, null, Map.of())),
        List.of());
  }

  protected List<String> textKeys(String text, int k, SearchFilter filter) {
    return store.searchText(text, k, filter).stream().map(h -> h.image().key().toString()).toList();
  }

  protected void writeCatalog() {
    store.write(
        List.of(
            image("p1/0", vectors.next(), 1, "Dresses", "Acme", 49.90, "IN_STOCK"),
            image("p2/0", vectors.next(), 1, "dresses", "Other", 19.99, "OUT_OF_STOCK"),
            image("p3/0", vectors.next(), 1, "Shoes", "Zeta", 20.0, "IN_STOCK"),
            image("p4/0", vectors.next(), 1, "Shoes", "acme", 120.0, "PREORDER"),
            image("p5/0", vectors.next(), 1, null, null, null, null)),
        List.of());
  }

  protected List<String> keys(SearchFilter filter) {
    return store.search(vectors.next(), 10, filter).stream()
        .map(h -> h.image().key().toString())
        .toList();
  }

  @Test
  void shouldSampleLiveImagesWithTheirVectors() {
    for (int i = 0; i < 12; i++) {
      store.write(List.of(image("p" + i + "/0", vectors.next(), 1)), List.of());
    }
    store.write(List.of(), List.of(ImageKey.parse("p0/0")));

    List<StoredImage> sample = store.sample(5);

    assertThat(sample).hasSizeBetween(4, 5); // Lucene may land on the deleted image's slot
    assertThat(sample)
        .extracting(StoredImage::productId)
        .doesNotContain("p0")
        .doesNotHaveDuplicates();
    assertThat(sample).allSatisfy(i -> assertThat(i.vector()).hasSize(DIM));
    assertThat(store.sample(100)).hasSize(11);
    assertThat(store.sample(0)).isEmpty();
  }
}
