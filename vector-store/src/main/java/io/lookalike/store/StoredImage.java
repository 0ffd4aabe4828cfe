package io.lookalike.store;

import io.lookalike.schemas.ImageKey;
import java.util.Map;

/**
 * One indexed product photo: its vector and the product metadata the gateway filters on and
 * returns. {@code occurredAtMillis} is when the catalog change happened (for freshness), {@code
 * embeddedAtMillis} when the vector was computed.
 */
public record StoredImage(
    ImageKey key,
    float[] vector,
    long version,
    String sha256,
    int position,
    String sourceUrl,
    long occurredAtMillis,
    long embeddedAtMillis,
    String title,
    String brand,
    String category,
    Double price,
    String currency,
    String availability,
    Map<String, String> attributes) {

  public String productId() {
    return key.productId();
  }

  public String imageId() {
    return key.imageId();
  }
}
