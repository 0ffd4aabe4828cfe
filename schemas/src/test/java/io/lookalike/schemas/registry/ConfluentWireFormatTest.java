package io.lookalike.schemas.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class ConfluentWireFormatTest {

  private static ProductEvent event() {
    return ProductEvent.newBuilder()
        .setEventId("e1")
        .setType(EventType.UPSERT)
        .setProductId("p1")
        .setVersion(3)
        .setOccurredAt(Instant.ofEpochMilli(1000))
        .setImages(List.of())
        .build();
  }

  @Test
  void shouldFrameTheDatumWithMagicByteAndBigEndianSchemaId() {
    byte[] bytes = ConfluentWireFormat.encode(258, event());

    assertThat(bytes[0]).isZero();
    assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).isEqualTo(258);
    assertThat(ConfluentWireFormat.schemaId(bytes)).isEqualTo(258);
    assertThat(
            ConfluentWireFormat.<ProductEvent>decode(
                bytes, ProductEvent.getClassSchema(), ProductEvent.getClassSchema()))
        .isEqualTo(event());
  }

  @Test
  void shouldReadRecordOfANewerSchemaWithAnAddedOptionalField() throws Exception {
    // Given a producer on a newer ProductEvent: one more optional field, at the end
    Schema current = ProductEvent.getClassSchema();
    Schema newer =
        new Schema.Parser()
            .parse(
                current
                    .toString()
                    .replaceFirst(
                        "\\]\\}$",
                        ",{\"name\":\"channel\",\"type\":[\"null\",\"string\"],\"default\":null}]}"));
    assertThat(newer.getField("channel")).isNotNull();
    GenericRecord record = new GenericData.Record(newer);
    for (Schema.Field f : current.getFields()) {
      Object value = event().get(f.name());
      record.put(
          f.name(),
          value instanceof Instant i
              ? i.toEpochMilli()
              : value instanceof Enum<?> e
                  ? new GenericData.EnumSymbol(f.schema(), e.name())
                  : value);
    }
    record.put("channel", "web");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0);
    out.writeBytes(ByteBuffer.allocate(4).putInt(7).array());
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(newer).write(record, encoder);
    encoder.flush();

    // When it is read with the current schema, Then the new field is skipped
    ProductEvent read = ConfluentWireFormat.decode(out.toByteArray(), newer, current);
    assertThat(read).isEqualTo(event());
  }

  @Test
  void shouldRefuseBytesThatAreNotFramed() {
    assertThatThrownBy(() -> ConfluentWireFormat.schemaId(new byte[] {(byte) 0xC3, 1, 0, 0, 0}))
        .isInstanceOf(SerializationException.class)
        .hasMessageContaining("magic byte 0");
  }

  @Test
  void shouldNameSubjectsAsConfluentsStrategiesDo() {
    Schema schema =
        SchemaBuilder.record("ProductEvent").namespace("io.lookalike.schemas").fields().endRecord();

    assertThat(SubjectNameStrategy.TOPIC.subject("catalog.product-events", schema))
        .isEqualTo("catalog.product-events-value");
    assertThat(SubjectNameStrategy.RECORD.subject("t", schema))
        .isEqualTo("io.lookalike.schemas.ProductEvent");
    assertThat(SubjectNameStrategy.TOPIC_RECORD.subject("t", schema))
        .isEqualTo("t-io.lookalike.schemas.ProductEvent");
    assertThat(
            new SchemaRegistryConfig(
                    Map.of(
                        SchemaRegistryConfig.SUBJECT_NAME_STRATEGY_CONFIG,
                        "io.confluent.kafka.serializers.subject.RecordNameStrategy"))
                .subjectNameStrategy())
        .isEqualTo(SubjectNameStrategy.RECORD);
    assertThat(new SchemaRegistryConfig(Map.of()).subjectNameStrategy())
        .isEqualTo(SubjectNameStrategy.TOPIC);
  }

  @Test
  void shouldFailAtStartUpNamingTheKeyOfAWrongSetting() {
    assertThatThrownBy(
            () ->
                new SchemaRegistryConfig(Map.of(SchemaRegistryConfig.URL_CONFIG, "registry:8081")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(SchemaRegistryConfig.URL_CONFIG)
        .hasMessageContaining("registry:8081");
    assertThatThrownBy(
            () ->
                new SchemaRegistryConfig(
                    Map.of(
                        SchemaRegistryConfig.URL_CONFIG,
                        "http://r:8081",
                        SchemaRegistryConfig.BASIC_AUTH_USER_INFO_CONFIG,
                        "nocolon")))
        .hasMessageContaining(SchemaRegistryConfig.BASIC_AUTH_USER_INFO_CONFIG)
        .hasMessageNotContaining("nocolon");
    assertThatThrownBy(
            () ->
                new SchemaRegistryConfig(
                    Map.of(SchemaRegistryConfig.VALUE_FORMAT_CONFIG, "confluent")))
        .hasMessageContaining(SchemaRegistryConfig.URL_CONFIG);
    assertThatThrownBy(
            () ->
                new SchemaRegistryConfig(
                    Map.of(SchemaRegistryConfig.SUBJECT_NAME_STRATEGY_CONFIG, "Mine")))
        .hasMessageContaining(SchemaRegistryConfig.SUBJECT_NAME_STRATEGY_CONFIG);
  }

  @Test
  void shouldNeverShowTheBasicAuthPassword() {
    SchemaRegistryClient client =
        new SchemaRegistryClient(
            new SchemaRegistryConfig(
                Map.of(
                    SchemaRegistryConfig.URL_CONFIG,
                    "http://127.0.0.1:1",
                    SchemaRegistryConfig.BASIC_AUTH_USER_INFO_CONFIG,
                    "u:secret")));

    assertThat(client.toString()).doesNotContain("secret").contains("[hidden]");
  }

  @Test
  void shouldDocumentEverySetting() {
    SchemaRegistryConfig.CONFIG_DEF
        .configKeys()
        .values()
        .forEach(k -> assertThat(k.documentation).as(k.name).isNotBlank());
  }
}
