package io.lookalike.schemas;

/** The serdes of our records, defined once. */
public final class Serdes {

  private Serdes() {}

  public static AvroSerde<ProductEvent> productEvent() {
    return new AvroSerde<>(ProductEvent.class, ProductEvent.getClassSchema());
  }

  public static AvroSerde<ProductImage> productImage() {
    return new AvroSerde<>(ProductImage.class, ProductImage.getClassSchema());
  }

  public static AvroSerde<ImageEmbedding> imageEmbedding() {
    return new AvroSerde<>(ImageEmbedding.class, ImageEmbedding.getClassSchema());
  }
}
