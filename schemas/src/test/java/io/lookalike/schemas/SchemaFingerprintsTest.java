package io.lookalike.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class SchemaFingerprintsTest {

  @Test
  void shouldWriteJavasCanonicalFormForSchemasWithoutLogicalTypes() {
    Schema plain = ImageRef.getClassSchema();
    assertThat(SchemaFingerprints.pythonCanonicalForm(plain))
        .isEqualTo(SchemaNormalization.toParsingForm(plain));
  }

  @Test
  void shouldKeepTheLogicalTypesPrimitiveAsAnObjectLikePythonAvro() {
    String form = SchemaFingerprints.pythonCanonicalForm(ProductEvent.getClassSchema());
    assertThat(form).contains("{\"name\":\"occurredAt\",\"type\":{\"type\":\"long\"}}");
    assertThat(form.replace("{\"type\":\"long\"}", "\"long\""))
        .isEqualTo(SchemaNormalization.toParsingForm(ProductEvent.getClassSchema()));
  }

  @Test
  void shouldMatchTheFingerprintPythonAvro111WritesForProductEvent() {
    // Seen in the dead letters of a python3-avro 1.11.1 producer (issue 10), as the signed long
    // Avro printed.
    assertThat(SchemaFingerprints.python(ProductEvent.getClassSchema()))
        .isEqualTo(-7163870415784364221L);
  }

  @Test
  void shouldReadRecordWrittenUnderThePythonFingerprint() {
    ProductEvent event =
        ProductEvent.newBuilder()
            .setEventId("e1")
            .setType(EventType.UPSERT)
            .setProductId("p1")
            .setVersion(1)
            .setOccurredAt(Instant.ofEpochMilli(1000))
            .setImages(List.of())
            .build();
    byte[] bytes = Serdes.productEvent().serialize(event);
    ByteBuffer.wrap(bytes, 2, 8)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putLong(SchemaFingerprints.python(ProductEvent.getClassSchema()));

    assertThat(Serdes.productEvent().deserialize(bytes)).isEqualTo(event);
  }

  @Test
  void shouldNameUnknownFingerprintAndTheExpectedOnesInHex() {
    ProductEvent event =
        ProductEvent.newBuilder()
            .setEventId("e1")
            .setType(EventType.UPSERT)
            .setProductId("p1")
            .setVersion(1)
            .setOccurredAt(Instant.ofEpochMilli(1000))
            .setImages(List.of())
            .build();
    byte[] bytes = Serdes.productEvent().serialize(event);
    ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(0x0123456789abcdefL);

    assertThatThrownBy(() -> Serdes.productEvent().deserialize(bytes))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("fingerprint 0123456789abcdef")
        .hasMessageContaining(
            SchemaFingerprints.hex(SchemaFingerprints.java(ProductEvent.getClassSchema()))
                + " (Java)")
        .hasMessageContaining(
            SchemaFingerprints.hex(SchemaFingerprints.python(ProductEvent.getClassSchema())));
  }
}
