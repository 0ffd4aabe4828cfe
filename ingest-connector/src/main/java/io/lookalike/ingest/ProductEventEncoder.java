package io.lookalike.ingest;

import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.registry.AvroValueSerde;
import io.lookalike.schemas.registry.RegistryUnavailableException;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import java.io.IOException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes product events to one topic in the format configured ({@code value.format}), through
 * {@link AvroValueSerde}: Avro single-object encoding, or the Confluent wire format with the schema
 * registered under its subject ({@code value.subject.name.strategy}).
 */
public final class ProductEventEncoder {

  private final AvroValueSerde<ProductEvent> serde;
  private final String topic;

  private ProductEventEncoder(AvroValueSerde<ProductEvent> serde, String topic) {
    this.serde = serde;
    this.topic = topic;
  }

  /** Single-object encoding, no registry. */
  public static ProductEventEncoder singleObject() {
    return new ProductEventEncoder(
        AvroValueSerde.singleObject(ProductEvent.class, ProductEvent.getClassSchema(), null), null);
  }

  public static ProductEventEncoder from(SchemaRegistryConfig config, String topic) {
    if (config.format() != SchemaRegistryConfig.ValueFormat.CONFLUENT) {
      return singleObject();
    }
    return new ProductEventEncoder(
        AvroValueSerde.of(
            ProductEvent.class,
            ProductEvent.getClassSchema(),
            config,
            new SchemaRegistryClient(config)),
        topic);
  }

  /**
   * Registers ProductEvent under its subject now (writers call it at start-up, to fail once with
   * the registry's reason rather than on every record); its schema id, or -1 for single-object
   * encoding.
   */
  public int register() throws IOException {
    try {
      return serde.register(topic);
    } catch (SerializationException | RegistryUnavailableException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /**
   * @throws SerializationException the registry refuses ProductEvent under the topic's subject
   * @throws RegistryUnavailableException the registry cannot be asked now
   */
  public byte[] encode(ProductEvent event) {
    return serde.serialize(topic, event);
  }

  /** This encoder as a Kafka value serializer (a null event is a null value). */
  public Serializer<ProductEvent> serializer() {
    return (t, event) -> event == null ? null : encode(event);
  }
}
