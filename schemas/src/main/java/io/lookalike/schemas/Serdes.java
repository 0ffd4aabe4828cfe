package io.lookalike.schemas;

import io.lookalike.schemas.registry.AvroValueSerde;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.schemas.registry.SchemaRegistryConfig;

/**
 * The serdes of our records, defined once: single-object only ({@link AvroSerde}), or as a stage's
 * schema registry settings say ({@link AvroValueSerde}: reads every Avro encoding, writes {@code
 * value.format}).
 */
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

  public static AvroValueSerde<ProductEvent> productEvent(
      SchemaRegistryConfig config, SchemaRegistryClient registry) {
    return AvroValueSerde.of(ProductEvent.class, ProductEvent.getClassSchema(), config, registry);
  }

  public static AvroValueSerde<ProductImage> productImage(
      SchemaRegistryConfig config, SchemaRegistryClient registry) {
    return AvroValueSerde.of(ProductImage.class, ProductImage.getClassSchema(), config, registry);
  }

  public static AvroValueSerde<ImageEmbedding> imageEmbedding(
      SchemaRegistryConfig config, SchemaRegistryClient registry) {
    return AvroValueSerde.of(
        ImageEmbedding.class, ImageEmbedding.getClassSchema(), config, registry);
  }

  /** Reads every Avro encoding (the Confluent one with {@code registry}), writes single-object. */
  public static AvroValueSerde<ProductImage> productImageReader(SchemaRegistryClient registry) {
    return AvroValueSerde.singleObject(ProductImage.class, ProductImage.getClassSchema(), registry);
  }

  /** Reads every Avro encoding (the Confluent one with {@code registry}), writes single-object. */
  public static AvroValueSerde<ImageEmbedding> imageEmbeddingReader(SchemaRegistryClient registry) {
    return AvroValueSerde.singleObject(
        ImageEmbedding.class, ImageEmbedding.getClassSchema(), registry);
  }
}
