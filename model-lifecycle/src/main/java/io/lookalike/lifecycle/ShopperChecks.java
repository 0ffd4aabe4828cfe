package io.lookalike.lifecycle;

import io.lookalike.gateway.ActiveModel;
import io.lookalike.image.HardAlterations;
import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.schemas.ImageKey;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The part of the quality gate that compares the candidate with the current model on what shoppers
 * feel, on the gate's sample of live images (both indexes hold them):
 *
 * <ul>
 *   <li><b>precision@10 by a metadata field</b> (default {@code category}): each sampled image, as
 *       its own index holds it, is a query with its own product left out (a held-out photo of the
 *       live catalog); the share of the 10 nearest other products with the same field value;
 *   <li><b>overlay recall@1</b> and <b>scene recall@1</b>: the photo with a price banner and a sale
 *       tag, and the photo at 40 % inside another sampled photo ({@link HardAlterations}), must
 *       find their own product first.
 * </ul>
 *
 * A candidate more than {@code maxDrop} below the current model on any of them is refused: a
 * near-duplicate check alone passes a model whose category precision fell from 0.59 to 0.38.
 */
public final class ShopperChecks {

  public static final String DEFAULT_FIELD = "category";
  public static final double DEFAULT_MAX_DROP = 0.05;
  public static final double UNMEASURED = -1;
  private static final int TOP = 10;

  /**
   * Candidate and current numbers; a value is {@link #UNMEASURED} (-1) when nothing could be
   * measured (e.g. no sampled image has the field).
   */
  public record Result(
      String field,
      int precisionQueries,
      double candidatePrecision,
      double currentPrecision,
      int alteredQueries,
      double candidateOverlayRecall,
      double currentOverlayRecall,
      double candidateSceneRecall,
      double currentSceneRecall) {

    /** Why the candidate is refused at this tolerance, or null when it is not. */
    public String refusal(double maxDrop) {
      List<String> worse = new ArrayList<>();
      check(worse, field + " precision@10", candidatePrecision, currentPrecision, maxDrop);
      check(worse, "overlay recall@1", candidateOverlayRecall, currentOverlayRecall, maxDrop);
      check(worse, "scene recall@1", candidateSceneRecall, currentSceneRecall, maxDrop);
      return worse.isEmpty() ? null : String.join("; ", worse);
    }

    private static void check(
        List<String> worse, String name, double candidate, double current, double maxDrop) {
      if (candidate >= 0 && current >= 0 && candidate < current - maxDrop - 1e-9) {
        worse.add(
            String.format(
                Locale.ROOT,
                "%s %.3f is more than %.2f below the current model's %.3f",
                name,
                candidate,
                maxDrop,
                current));
      }
    }
  }

  private ShopperChecks() {}

  /** The sampled images as key and bytes, in the gate's order. */
  public record Sampled(ImageKey key, byte[] bytes) {}

  public static Result measure(
      List<Sampled> images, ActiveModel candidate, ActiveModel current, String field) {
    Function<StoredImage, String> value = fieldOf(field);
    double[] candidatePrecision = precision(images, candidate.store(), value);
    double[] currentPrecision = precision(images, current.store(), value);
    List<byte[]> overlays = new ArrayList<>();
    List<byte[]> scenes = new ArrayList<>();
    List<ImageKey> keys = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      try {
        byte[] overlay = HardAlterations.textOverlay(images.get(i).bytes());
        byte[] scene =
            HardAlterations.pastedIntoScene(
                images.get(i).bytes(), images.get((i + 1) % images.size()).bytes());
        overlays.add(overlay);
        scenes.add(scene);
        keys.add(images.get(i).key());
      } catch (RuntimeException e) {
        // an undecodable sample is skipped, as in the near-duplicate check
      }
    }
    return new Result(
        field,
        (int) candidatePrecision[1],
        candidatePrecision[0],
        currentPrecision[0],
        keys.size(),
        recall(candidate, overlays, keys),
        recall(current, overlays, keys),
        recall(candidate, scenes, keys),
        recall(current, scenes, keys));
  }

  /** {precision, queries}. */
  private static double[] precision(
      List<Sampled> images, VectorStore store, Function<StoredImage, String> value) {
    double sum = 0;
    int n = 0;
    for (Sampled image : images) {
      Optional<StoredImage> stored = store.get(image.key());
      String wanted = stored.map(value).orElse(null);
      if (wanted == null || wanted.isBlank()) {
        continue;
      }
      Map<String, StoredImage> others = new LinkedHashMap<>();
      for (SearchHit hit : store.search(stored.get().vector(), TOP * 5, SearchFilter.NONE)) {
        if (!hit.image().productId().equals(image.key().productId())) {
          others.putIfAbsent(hit.image().productId(), hit.image());
        }
        if (others.size() == TOP) {
          break;
        }
      }
      if (others.isEmpty()) {
        continue;
      }
      long same = others.values().stream().filter(o -> wanted.equals(value.apply(o))).count();
      sum += same / (double) TOP;
      n++;
    }
    return new double[] {n == 0 ? UNMEASURED : sum / n, n};
  }

  private static double recall(ActiveModel model, List<byte[]> queries, List<ImageKey> keys) {
    if (queries.isEmpty()) {
      return UNMEASURED;
    }
    int found = 0;
    int n = 0;
    for (int from = 0; from < queries.size(); from += 16) {
      List<EmbeddingResult> results =
          embed(model.embedder(), queries.subList(from, Math.min(queries.size(), from + 16)));
      for (int j = 0; j < results.size(); j++) {
        if (results.get(j) instanceof EmbeddingResult.Vector v) {
          n++;
          List<SearchHit> hits = model.store().search(v.values(), 1, SearchFilter.NONE);
          if (!hits.isEmpty()
              && hits.get(0).image().productId().equals(keys.get(from + j).productId())) {
            found++;
          }
        }
      }
    }
    return n == 0 ? UNMEASURED : found / (double) n;
  }

  private static List<EmbeddingResult> embed(Embedder embedder, List<byte[]> photos) {
    return embedder.embed(photos);
  }

  /**
   * The metadata field by name: category, brand, availability, currency, title, or an attribute.
   */
  static Function<StoredImage, String> fieldOf(String field) {
    return switch (field) {
      case "category" -> StoredImage::category;
      case "brand" -> StoredImage::brand;
      case "availability" -> StoredImage::availability;
      case "currency" -> StoredImage::currency;
      case "title" -> StoredImage::title;
      default -> image -> image.attributes() == null ? null : image.attributes().get(field);
    };
  }
}
