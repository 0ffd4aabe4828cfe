package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.lookalike.gateway.ActiveModel;
import io.lookalike.lifecycle.ShopperChecks;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.schemas.ImageKey;
import io.lookalike.store.StoredImage;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.SampleImages.Photo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gate's shopper checks on real photos and both real models: the repo's {@code
 * mobilenet_v2_block13.pt} keeps near-duplicate recall but loses category precision, and must be
 * refused against the default model.
 */
class ShopperChecksIT {

  private static final List<Photo> CATALOG = SampleImages.photos("train", 150);

  @TempDir static Path dir;

  private static ActiveModel defaultModel;
  private static ActiveModel block13;
  private static List<ShopperChecks.Sampled> sample;

  @BeforeAll
  static void indexTheCatalogWithBothModels() throws Exception {
    Path model =
        Path.of(ShopperChecksIT.class.getResource("/models/mobilenet_v2_block13.pt").toURI());
    defaultModel = index(DjlEmbedder.loadDefault(), dir.resolve("default"));
    block13 =
        index(DjlEmbedder.load(EmbeddingModelConfig.of(model.toString())), dir.resolve("block13"));
    sample = new ArrayList<>();
    for (int i = 0; i < CATALOG.size(); i += 5) { // 30 photos, every class
      sample.add(new ShopperChecks.Sampled(key(CATALOG.get(i)), CATALOG.get(i).bytes()));
    }
  }

  @AfterAll
  static void close() {
    for (ActiveModel m : new ActiveModel[] {defaultModel, block13}) {
      if (m != null) {
        m.store().close();
        m.embedder().close();
      }
    }
  }

  @Test
  void shouldRefuseAModelThatLosesCategoryPrecision() {
    ShopperChecks.Result result = ShopperChecks.measure(sample, block13, defaultModel, "category");

    assertThat(result.precisionQueries()).isEqualTo(sample.size());
    assertThat(result.candidatePrecision())
        .isLessThan(result.currentPrecision() - ShopperChecks.DEFAULT_MAX_DROP);
    assertThat(result.refusal(ShopperChecks.DEFAULT_MAX_DROP)).contains("category precision@10");
  }

  @Test
  void shouldPassTheSameModelAgainstItself() {
    ShopperChecks.Result result =
        ShopperChecks.measure(sample, defaultModel, defaultModel, "category");

    assertThat(result.candidatePrecision()).isEqualTo(result.currentPrecision()).isGreaterThan(0.3);
    assertThat(result.candidateOverlayRecall()).isGreaterThan(0.8);
    assertThat(result.refusal(ShopperChecks.DEFAULT_MAX_DROP)).isNull();
  }

  @Test
  void shouldMeasureNothingOnAFieldNoImageHas() {
    ShopperChecks.Result result = ShopperChecks.measure(sample, block13, defaultModel, "fabric");

    assertThat(result.precisionQueries()).isZero();
    assertThat(result.candidatePrecision()).isEqualTo(ShopperChecks.UNMEASURED);
  }

  private static ActiveModel index(DjlEmbedder embedder, Path path) {
    LuceneVectorStore store =
        LuceneVectorStore.open(path, embedder.model().modelId(), embedder.model().dimension());
    List<StoredImage> images = new ArrayList<>();
    for (int from = 0; from < CATALOG.size(); from += 16) {
      List<Photo> batch = CATALOG.subList(from, Math.min(CATALOG.size(), from + 16));
      List<EmbeddingResult> vectors = embedder.embed(batch.stream().map(Photo::bytes).toList());
      for (int i = 0; i < batch.size(); i++) {
        float[] v = ((EmbeddingResult.Vector) vectors.get(i)).values();
        images.add(
            new StoredImage(
                key(batch.get(i)),
                v,
                1,
                "sha",
                0,
                "file:" + batch.get(i).path(),
                0,
                0,
                batch.get(i).id(),
                "brand",
                batch.get(i).category(),
                10.0,
                "EUR",
                "IN_STOCK",
                Map.of()));
      }
    }
    store.write(images, List.of());
    return new ActiveModel(embedder, store);
  }

  private static ImageKey key(Photo photo) {
    return new ImageKey("p-" + photo.id(), "0");
  }
}
