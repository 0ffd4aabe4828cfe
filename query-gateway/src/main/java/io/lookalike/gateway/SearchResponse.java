package io.lookalike.gateway;

import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The answer to one search: products best first, each once with its best-matching image, plus the
 * model that produced the vectors, how long the search took, the facet counts of the retrieved
 * products and the boosts that were applied.
 */
public record SearchResponse(
    String by,
    String modelId,
    long tookMs,
    List<Match> results,
    Map<String, Map<String, Long>> facets,
    List<Boosts.Applied> boosts) {

  public SearchResponse(String by, String modelId, long tookMs, List<Match> results) {
    this(by, modelId, tookMs, results, Map.of(), List.of());
  }

  /**
   * One product of the answer and the image of it that matched best. {@code imageUrl} and {@code
   * thumbnailUrl} are paths on this gateway (never the catalog's own URL, which may be a server
   * path); {@code boost} is the part of {@code score} that business boosts added.
   */
  public record Match(
      String productId,
      String imageId,
      float score,
      float boost,
      String title,
      String brand,
      String category,
      Double price,
      String currency,
      String availability,
      Map<String, String> attributes,
      String imageUrl,
      String thumbnailUrl) {

    static Match of(SearchHit hit) {
      return of(hit, 0f);
    }

    static Match of(SearchHit hit, float boost) {
      StoredImage image = hit.image();
      String path = imagePath(image.productId(), image.imageId());
      return new Match(
          image.productId(),
          image.imageId(),
          hit.score(),
          boost,
          image.title(),
          image.brand(),
          image.category(),
          image.price(),
          image.currency(),
          image.availability(),
          image.attributes() == null ? Map.of() : image.attributes(),
          path,
          path + "/thumbnail");
    }
  }

  /**
   * The gateway path of an image: {@code /v1/images/{productId}/{imageId}}, both segments
   * URL-encoded.
   */
  static String imagePath(String productId, String imageId) {
    return "/v1/images/" + segment(productId) + "/" + segment(imageId);
  }

  private static String segment(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
