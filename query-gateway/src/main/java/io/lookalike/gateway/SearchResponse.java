package io.lookalike.gateway;

import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import java.util.List;

/**
 * The answer to one search: products best first, each once with its best-matching image, plus the
 * model that produced the vectors and how long the search took.
 */
public record SearchResponse(String by, String modelId, long tookMs, List<Match> results) {

  /** One product of the answer and the image of it that matched best. */
  public record Match(
      String productId,
      String imageId,
      float score,
      String title,
      String brand,
      String category,
      Double price,
      String currency,
      String availability,
      String imageUrl) {

    static Match of(SearchHit hit) {
      StoredImage image = hit.image();
      return new Match(image.productId(), image.imageId(), hit.score(), image.title(), image.brand(),
          image.category(), image.price(), image.currency(), image.availability(), image.sourceUrl());
    }
  }
}
