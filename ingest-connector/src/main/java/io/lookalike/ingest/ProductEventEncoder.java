package io.lookalike.ingest;

import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import java.io.IOException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes product events in the format configured ({@code value.format}): Avro single-object
 * encoding, or the Confluent wire format with the schema registered under its subject ({@code
 * value.subject.name.strategy}).
 */
public final class ProductEventEncoder {

  private final SchemaRegistryClient registry;
  private final String subject;
  private volatile int schemaId = -1;

  private ProductEventEncoder(SchemaRegistryClient registry, String subject) {
    this.registry = registry;
    this.subject = subject;
  }

  /** Single-object encoding, no registry. */
  public static ProductEventEncoder singleObject() {
    return new ProductEventEncoder(null, null);
  }

  public static ProductEventEncoder from(SchemaRegistryConfig config, String topic) {
    if (config.format() != SchemaRegistryConfig.ValueFormat.CONFLUENT) {
      return singleObject();
    }
    return new ProductEventEncoder(
        new SchemaRegistryClient(config),
        config.subjectNameStrategy().subject(topic, ProductEvent.getClassSchema()));
  }

  /**
   * Registers ProductEvent under its subject now (writers call it at start-up, to fail once with
   * the registry's reason rather than on every record); its schema id, or -1 for single-object
   * encoding.
   */
  public int register() throws IOException {
    if (registry == null) {
      return -1;
    }
    int id = schemaId;
    if (id < 0) {
      try {
        id = registry.register(subject, ProductEvent.getClassSchema());
      } catch (IOException e) {
        throw new IOException(
            "Cannot register ProductEvent under subject " + subject + ": " + e.getMessage(), e);
      }
      schemaId = id;
    }
    return id;
  }

  public byte[] encode(ProductEvent event) {
    if (registry == null) {
      return Serdes.productEvent().serialize(event);
    }
    try {
      return ConfluentWireFormat.encode(register(), event);
    } catch (IOException e) {
      throw new SerializationException(e.getMessage(), e);
    }
  }

  /** This encoder as a Kafka value serializer (a null event is a null value). */
  public Serializer<ProductEvent> serializer() {
    return (topic, event) -> event == null ? null : encode(event);
  }
}
