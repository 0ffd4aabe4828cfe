package io.lookalike.schemas.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class AvroValueSerdeTest {

  private static final ProductEvent EVENT =
      ProductEvent.newBuilder()
          .setEventId("e1")
          .setType(EventType.UPSERT)
          .setProductId("p1")
          .setVersion(3)
          .setOccurredAt(Instant.ofEpochMilli(1000))
          .setImages(List.of())
          .build();

  /** Nothing listens on port 1: a real connection refused, not a stand-in. */
  private static SchemaRegistryClient unreachable() {
    return new SchemaRegistryClient("http://127.0.0.1:1", "", null, Duration.ofSeconds(2));
  }

  @Test
  void shouldTellTheEncodingsApartByTheirFirstBytes() {
    assertThat(AvroValueSerde.encoding(Serdes.productEvent().serialize(EVENT)))
        .isEqualTo(AvroValueSerde.Encoding.AVRO_SINGLE_OBJECT);
    assertThat(AvroValueSerde.encoding(ConfluentWireFormat.encode(1, EVENT)))
        .isEqualTo(AvroValueSerde.Encoding.CONFLUENT);
    assertThat(AvroValueSerde.encoding("{}".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(AvroValueSerde.Encoding.OTHER);
  }

  @Test
  void shouldWriteSingleObjectByDefaultAndReadItBack() {
    AvroValueSerde<ProductEvent> serde =
        Serdes.productEvent(new SchemaRegistryConfig(Map.of()), null);

    byte[] bytes = serde.serialize("t", EVENT);

    assertThat(AvroValueSerde.encoding(bytes))
        .isEqualTo(AvroValueSerde.Encoding.AVRO_SINGLE_OBJECT);
    assertThat(serde.deserialize(bytes)).isEqualTo(EVENT);
    assertThat(serde.register("t")).isEqualTo(-1);
  }

  @Test
  void shouldDeadLetterAConfluentRecordWhenNoRegistryIsConfigured() {
    AvroValueSerde<ProductEvent> serde =
        AvroValueSerde.singleObject(ProductEvent.class, ProductEvent.getClassSchema(), null);

    assertThatThrownBy(() -> serde.deserialize(ConfluentWireFormat.encode(42, EVENT)))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("schema id 42")
        .hasMessageContaining(SchemaRegistryConfig.URL_CONFIG);
  }

  @Test
  void shouldRejectBytesInNoAvroEncodingNamingThem() {
    AvroValueSerde<ProductEvent> serde =
        AvroValueSerde.singleObject(ProductEvent.class, ProductEvent.getClassSchema(), null);

    assertThatThrownBy(() -> serde.deserialize("nope".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("0x6E 0x6F");
  }

  @Test
  void shouldSayTheRegistryIsUnavailableRatherThanBlameTheRecordWhenItCannotBeReached() {
    AvroValueSerde<ProductEvent> serde =
        AvroValueSerde.singleObject(
            ProductEvent.class, ProductEvent.getClassSchema(), unreachable());
    byte[] framed = ConfluentWireFormat.encode(7, EVENT);

    assertThatThrownBy(() -> serde.deserialize(framed))
        .isInstanceOf(RegistryUnavailableException.class)
        .hasMessageContaining("schema id 7")
        .hasMessageContaining("127.0.0.1:1");
    assertThatThrownBy(() -> serde.prefetch(framed))
        .isInstanceOf(RegistryUnavailableException.class);
  }

  @Test
  void shouldFailTheWriteAsRetriableWhenTheRegistryCannotBeReached() {
    AvroValueSerde<ProductEvent> serde =
        Serdes.productEvent(
            new SchemaRegistryConfig(
                Map.of("schema.registry.url", "http://127.0.0.1:1", "value.format", "confluent")),
            unreachable());

    assertThatThrownBy(() -> serde.serialize("t", EVENT))
        .isInstanceOf(RegistryUnavailableException.class)
        .hasMessageStartingWith("Cannot register ProductEvent under subject t-value");
    serde.registerAtStartUp("t"); // logged, not thrown: asked again on the first record
  }

  @Test
  void shouldRefuseTheConfluentFormatWithoutARegistryClient() {
    SchemaRegistryConfig config =
        new SchemaRegistryConfig(
            Map.of("schema.registry.url", "http://127.0.0.1:1", "value.format", "confluent"));

    assertThatThrownBy(() -> Serdes.productEvent(config, null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("value.format");
  }
}
