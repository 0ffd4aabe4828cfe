package io.lookalike.schemas;

/**
 * The key of one product photo on the image and embedding topics and in the vector stores: {@code
 * productId/imageId}. Image ids may not contain '/', so the last '/' separates the two.
 */
public record ImageKey(String productId, String imageId) {

  public ImageKey {
    if (productId == null || productId.isEmpty()) {
      throw new IllegalArgumentException("productId must not be empty");
    }
    if (imageId == null || imageId.isEmpty() || imageId.indexOf('/') >= 0) {
      throw new IllegalArgumentException(
          "imageId must be non-empty and contain no '/': " + imageId);
    }
  }

  public static ImageKey parse(String key) {
    int slash = key == null ? -1 : key.lastIndexOf('/');
    if (slash <= 0 || slash == key.length() - 1) {
      throw new IllegalArgumentException("Not a productId/imageId key: " + key);
    }
    return new ImageKey(key.substring(0, slash), key.substring(slash + 1));
  }

  @Override
  public String toString() {
    return productId + "/" + imageId;
  }
}
