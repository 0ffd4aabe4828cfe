package io.lookalike.store;

import io.lookalike.schemas.ImageKey;
import java.util.Map;

/** Test images with sensible defaults. */
public final class Images {

  private Images() {}

  public static StoredImage image(String key, float[] vector, long version) {
    return image(key, vector, version, "Dresses", "Acme", 49.90, "IN_STOCK");
  }

  public static StoredImage image(
      String key,
      float[] vector,
      long version,
      String category,
      String brand,
      Double price,
      String availability) {
    ImageKey k = ImageKey.parse(key);
    return new StoredImage(
        k,
        vector,
        version,
        "sha-" + key + "-" + version,
        Integer.parseInt(k.imageId().replaceAll("\\D", "0")),
        "https://shop.example/" + key + ".jpg",
        1_700_000_000_000L,
        1_700_000_001_000L,
        "Title " + key,
        brand,
        category,
        price,
        price == null ? null : "EUR",
        availability,
        Map.of("colour", "red", "size", "M"));
  }

  /** A product image with the given text fields (for text search). */
  public static StoredImage product(
      String key,
      float[] vector,
      String title,
      String brand,
      String category,
      Map<String, String> attributes) {
    StoredImage base = image(key, vector, 1, category, brand, 10.0, "IN_STOCK");
    return new StoredImage(
        base.key(),
        vector,
        1,
        base.sha256(),
        base.position(),
        base.sourceUrl(),
        base.occurredAtMillis(),
        base.embeddedAtMillis(),
        title,
        brand,
        category,
        base.price(),
        base.currency(),
        base.availability(),
        attributes);
  }
}
