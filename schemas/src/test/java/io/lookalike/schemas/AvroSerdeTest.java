package io.lookalike.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class AvroSerdeTest {

  private final AvroSerde<ProductEvent> serde = Serdes.productEvent();

  @Test
  void shouldRoundTripAProductEvent() {
    ProductEvent event =
        ProductEvent.newBuilder()
            .setEventId("e1")
            .setType(EventType.UPSERT)
            .setProductId("p1")
            .setVersion(7)
            .setOccurredAt(Instant.now().truncatedTo(ChronoUnit.MILLIS))
            .setProduct(
                ProductMetadata.newBuilder()
                    .setTitle("Red dress")
                    .setBrand("Acme")
                    .setCategory("dress")
                    .setPrice(new Price(49.9, "EUR"))
                    .setAttributes(Map.of("colour", "red"))
                    .build())
            .setImages(List.of(new ImageRef("front", "https://cdn.example.com/p1.jpg", 0)))
            .build();

    byte[] bytes = serde.serializer().serialize("t", event);

    assertThat(serde.deserializer().deserialize("t", bytes)).isEqualTo(event);
    assertThat(event.getProduct().getAvailability()).isEqualTo(ProductAvailability.UNKNOWN);
  }

  @Test
  void shouldPassTombstonesThrough() {
    assertThat(serde.serializer().serialize("t", null)).isNull();
    assertThat(serde.deserializer().deserialize("t", null)).isNull();
  }

  @Test
  void shouldRejectAMessageWrittenWithAnUnknownSchema() throws Exception {
    Schema other =
        SchemaBuilder.record("Other")
            .namespace("elsewhere")
            .fields()
            .requiredString("x")
            .endRecord();
    GenericRecord record = new GenericData.Record(other);
    record.put("x", "y");
    byte[] bytes =
        new BinaryMessageEncoder<GenericRecord>(GenericData.get(), other).encode(record).array();

    assertThatThrownBy(() -> serde.deserializer().deserialize("t", bytes))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("Unknown writer schema for ProductEvent");
  }

  @Test
  void shouldRejectBytesThatAreNotSingleObjectEncoded() {
    assertThatThrownBy(() -> serde.deserializer().deserialize("t", "{\"json\": true}".getBytes()))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("Not an Avro single-object encoded ProductEvent");
  }

  @Test
  void shouldRejectATruncatedRecord() {
    ProductEvent event =
        ProductEvent.newBuilder()
            .setEventId("e1")
            .setType(EventType.DELETE)
            .setProductId("p1")
            .setVersion(1)
            .setOccurredAt(Instant.now())
            .build();
    byte[] bytes = serde.serialize(event);
    byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length - 3);

    assertThatThrownBy(() -> serde.deserialize(truncated))
        .isInstanceOf(SerializationException.class);
  }
}
