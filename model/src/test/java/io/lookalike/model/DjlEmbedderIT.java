package io.lookalike.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.ImageSafetyConfig;
import io.lookalike.image.NearDuplicates;
import io.lookalike.image.RejectedImageException;
import io.lookalike.testkit.HostileImages;
import io.lookalike.testkit.SampleImages;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DjlEmbedderIT {

  private static DjlEmbedder embedder;
  private static List<byte[]> photos;

  @BeforeAll
  static void load() {
    embedder = DjlEmbedder.loadDefault();
    photos = SampleImages.photos("test", 40).stream().map(SampleImages.Photo::bytes).toList();
  }

  @AfterAll
  static void close() {
    embedder.close();
  }

  @Test
  void shouldNameTheDefaultModelAfterItsFileAndWeightsHash() {
    ModelInfo model = embedder.model();

    assertThat(model.modelId()).matches("mobilenet_v2_features_[0-9a-f]{8}");
    assertThat(model.modelId())
        .isEqualTo(
            "mobilenet_v2_features_"
                + DjlEmbedder.sha256(DjlEmbedder.bundledModel()).substring(0, 8));
    assertThat(model.name()).isEqualTo("mobilenet_v2_features");
    assertThat(model.dimension()).isEqualTo(1280);
  }

  @Test
  void shouldReturnUnitLengthVectorsInOrder() {
    List<EmbeddingResult> results = embedder.embed(photos.subList(0, 8));

    assertThat(results)
        .hasSize(8)
        .allSatisfy(
            r -> {
              assertThat(r).isInstanceOf(EmbeddingResult.Vector.class);
              float[] v = ((EmbeddingResult.Vector) r).values();
              assertThat(v).hasSize(1280);
              assertThat(dot(v, v)).isCloseTo(1.0, within(1e-4));
            });
    float[] alone = vector(embedder.embed(List.of(photos.get(5))).get(0));
    assertThat(dot(alone, vector(results.get(5)))).isCloseTo(1.0, within(1e-4));
  }

  @Test
  void shouldGiveTheSameVectorForTheSameImage() {
    List<EmbeddingResult> results =
        embedder.embed(List.of(photos.get(0), photos.get(1), photos.get(0)));

    float[] first = vector(results.get(0));
    float[] again = vector(results.get(2));
    for (int i = 0; i < first.length; i++) {
      assertThat(again[i]).isCloseTo(first[i], within(1e-4f));
    }
    assertThat(dot(first, vector(results.get(1)))).isLessThan(0.99);
  }

  @Test
  void shouldFindTheNearDuplicateOfAPhotoAsItsNearestNeighbour() {
    List<float[]> originals = embedder.embed(photos).stream().map(DjlEmbedderIT::vector).toList();
    List<float[]> altered =
        embedder.embed(photos.stream().map(NearDuplicates::of).toList()).stream()
            .map(DjlEmbedderIT::vector)
            .toList();

    int found = 0;
    for (int q = 0; q < altered.size(); q++) {
      int best = -1;
      double bestScore = -2;
      for (int i = 0; i < originals.size(); i++) {
        double score = dot(altered.get(q), originals.get(i));
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
      found += best == q ? 1 : 0;
    }
    assertThat(found).isGreaterThanOrEqualTo((int) Math.ceil(0.95 * photos.size()));
  }

  @Test
  void shouldFailOnlyTheBadImagesOfAMixedBatch() {
    List<byte[]> batch =
        new ArrayList<>(
            List.of(
                photos.get(0),
                HostileImages.corruptJpeg(photos.get(1)),
                HostileImages.textFile(),
                HostileImages.zeroBytes(),
                HostileImages.hugePng(20_000, 20_000),
                photos.get(2)));

    List<EmbeddingResult> results = embedder.embed(batch);

    assertThat(results.get(0)).isInstanceOf(EmbeddingResult.Vector.class);
    assertThat(results.get(5)).isInstanceOf(EmbeddingResult.Vector.class);
    assertThat(results.subList(1, 4))
        .allSatisfy(
            r ->
                assertThat(r)
                    .isInstanceOfSatisfying(
                        EmbeddingResult.Failed.class,
                        f -> assertThat(f.reasonCode()).isEqualTo(DjlEmbedder.REASON_UNDECODABLE)));
    assertThat(results.get(4))
        .isInstanceOfSatisfying(
            EmbeddingResult.Failed.class,
            f -> assertThat(f.reasonCode()).isEqualTo(DjlEmbedder.REASON_TOO_MANY_PIXELS));
    float[] alone = vector(embedder.embed(List.of(photos.get(2))).get(0));
    assertThat(dot(alone, vector(results.get(5)))).isCloseTo(1.0, within(1e-4));
  }

  @Test
  void shouldRefuseAPhotoAboveTheConfiguredPixelLimitAsTheNormaliserDoes() throws Exception {
    // Given a limit one pixel below a real photo's size, through the image-safety key
    byte[] photo = photos.get(3);
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(photo));
    long limit = (long) image.getWidth() * image.getHeight() - 1;
    Map<String, Object> settings = Map.of(ImageSafetyConfig.MAX_PIXELS_CONFIG, limit);

    // When the embedder and the normaliser get that photo
    EmbeddingResult result;
    try (DjlEmbedder limited = DjlEmbedder.load("", null, settings)) {
      result = limited.embed(List.of(photo)).get(0);
    }
    ImageNormaliser normaliser = ImageNormaliser.from(new ImageSafetyConfig(settings));

    // Then both refuse it with the one reason code
    assertThat(result)
        .isInstanceOfSatisfying(
            EmbeddingResult.Failed.class,
            f -> assertThat(f.reasonCode()).isEqualTo(RejectedImageException.TOO_MANY_PIXELS));
    assertThatThrownBy(() -> normaliser.normalise(photo))
        .isInstanceOfSatisfying(
            RejectedImageException.class,
            e -> assertThat(e.reasonCode()).isEqualTo(RejectedImageException.TOO_MANY_PIXELS));
    // And without the key the embedder's limit is the image-safety default
    assertThat(EmbeddingModelConfig.defaults().maxPixels())
        .isEqualTo(ImageNormaliser.DEFAULT_MAX_PIXELS);
    assertThat(embedder.embed(List.of(photo)).get(0)).isInstanceOf(EmbeddingResult.Vector.class);
  }

  static float[] vector(EmbeddingResult result) {
    assertThat(result).isInstanceOf(EmbeddingResult.Vector.class);
    return ((EmbeddingResult.Vector) result).values();
  }

  static double dot(float[] a, float[] b) {
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += a[i] * b[i];
    }
    return sum;
  }
}
