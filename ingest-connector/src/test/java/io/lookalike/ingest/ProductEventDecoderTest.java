package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProductEventDecoderTest {

  private static final ProductEvent EVENT =
      ProductEvent.newBuilder()
          .setEventId("e1")
          .setType(EventType.UPSERT)
          .setProductId("p1")
          .setVersion(1)
          .setOccurredAt(Instant.ofEpochMilli(5))
          .setImages(List.of())
          .build();

  @Test
  void shouldTellTheEncodingsApartByTheirFirstBytes() {
    assertThat(ProductEventDecoder.encoding(Serdes.productEvent().serialize(EVENT)))
        .isEqualTo(ProductEventDecoder.Encoding.AVRO_SINGLE_OBJECT);
    assertThat(ProductEventDecoder.encoding(ConfluentWireFormat.encode(1, EVENT)))
        .isEqualTo(ProductEventDecoder.Encoding.CONFLUENT);
    assertThat(
            ProductEventDecoder.encoding(
                " \n{\"productId\":\"p1\"}".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(ProductEventDecoder.Encoding.JSON);
    assertThat(ProductEventDecoder.encoding("p1".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(ProductEventDecoder.Encoding.UNKNOWN);
  }

  @Test
  void shouldDefaultAJsonEventsOccurredAtToTheRecordTimestampSoThatDecodingAgainGivesTheSameEvent()
      throws Exception {
    byte[] json = "{\"productId\":\"p1\"}".getBytes(StandardCharsets.UTF_8);
    ProductEventDecoder decoder = new ProductEventDecoder();

    ProductEvent first = decoder.decode(json, 1234);

    assertThat(first.getOccurredAt()).isEqualTo(Instant.ofEpochMilli(1234));
    assertThat(first.getVersion()).isEqualTo(1234);
    assertThat(decoder.decode(json, 1234)).isEqualTo(first);
  }

  @Test
  void shouldRetryRatherThanDeadLetterWhenTheRegistryDoesNotAnswer() {
    // Nothing listens on port 1: a real connection refused, not a stand-in.
    ProductEventDecoder decoder =
        new ProductEventDecoder(
            new SchemaRegistryClient("http://127.0.0.1:1", "", null, Duration.ofSeconds(2)));
    byte[] framed = ConfluentWireFormat.encode(7, EVENT);

    assertThatThrownBy(() -> decoder.decode(framed, 0))
        .isInstanceOf(io.lookalike.schemas.registry.RegistryUnavailableException.class)
        .hasMessageContaining("127.0.0.1:1");
    assertThatThrownBy(() -> decoder.productIdOrNull(framed, 0))
        .isInstanceOf(io.lookalike.schemas.registry.RegistryUnavailableException.class);
  }
}
