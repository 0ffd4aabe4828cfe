package io.lookalike.indexer;

import io.lookalike.schemas.ImageEmbedding;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.Price;
import io.lookalike.schemas.ProductMetadata;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Test embedding records. */
public final class Embeddings {

  private Embeddings() {}

  public static ImageEmbedding embedding(String key, String modelId, float[] vector, long version) {
    ImageKey k = ImageKey.parse(key);
    List<Float> values = new ArrayList<>(vector.length);
    for (float v : vector) {
      values.add(v);
    }
    return ImageEmbedding.newBuilder()
        .setProductId(k.productId())
        .setImageId(k.imageId())
        .setModelId(modelId)
        .setVector(values)
        .setSha256("sha-" + key + "-" + version)
        .setVersion(version)
        .setPosition(0)
        .setSourceUrl("https://shop.example/" + key + ".jpg")
        .setOccurredAt(Instant.now().minusMillis(100))
        .setEmbeddedAt(Instant.now())
        .setProduct(
            ProductMetadata.newBuilder()
                .setTitle("Title " + key)
                .setBrand("Acme")
                .setCategory("Dresses")
                .setPrice(new Price(29.5, "EUR"))
                .setAvailability("IN_STOCK")
                .setAttributes(Map.of("colour", "red"))
                .build())
        .build();
  }
}
