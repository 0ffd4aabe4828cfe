package io.lookalike.gateway;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.lookalike.image.Region;
import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The answer to one search: products best first, each once with its best-matching image, plus the
 * model that produced the vectors, how long the search took, the facet counts of the retrieved
 * products and the boosts that were applied; with a crop or localize, the {@code region} of the
 * photo searched; with regions=true, the answer per region found; with minScore, the score results
 * had to reach ({@code minScore}) and whether the best one is a close match for this index.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SearchResponse(
    String by,
    String modelId,
    long tookMs,
    List<Match> results,
    Map<String, Map<String, Long>> facets,
    List<Boosts.Applied> boosts,
    Box region,
    List<RegionAnswer> regions,
    Double minScore,
    Boolean closeMatch) {

  public SearchResponse(String by, String modelId, long tookMs, List<Match> results) {
    this(by, modelId, tookMs, results, Map.of(), List.of());
  }

  public SearchResponse(
      String by,
      String modelId,
      long tookMs,
      List<Match> results,
      Map<String, Map<String, Long>> facets,
      List<Boosts.Applied> boosts) {
    this(by, modelId, tookMs, results, facets, boosts, null, null, null, null);
  }

  SearchResponse withRegion(Region searched) {
    return new SearchResponse(
        by,
        modelId,
        tookMs,
        results,
        facets,
        boosts,
        Box.of(searched),
        regions,
        minScore,
        closeMatch);
  }

  SearchResponse withRegions(List<RegionAnswer> answers, long took) {
    return new SearchResponse(
        by, modelId, took, results, facets, boosts, region, answers, minScore, closeMatch);
  }

  /**
   * The results at or above {@code threshold}; {@code close}: the best result reaches the index's
   * close-match score.
   */
  SearchResponse withMinScore(double threshold, Boolean close) {
    List<Match> kept = results.stream().filter(m -> m.score() >= threshold).toList();
    return new SearchResponse(
        by, modelId, tookMs, kept, facets, boosts, region, regions, threshold, close);
  }

  /** A region of the photo in fractions 0..1 of its upright width and height. */
  public record Box(double x, double y, double w, double h) {
    static Box of(Region r) {
      return r == null ? null : new Box(round(r.x()), round(r.y()), round(r.w()), round(r.h()));
    }

    private static double round(double v) {
      return Math.round(v * 10_000) / 10_000.0;
    }
  }

  /** The products that look like one region of the photo. */
  public record RegionAnswer(Box box, List<Match> results) {}

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
