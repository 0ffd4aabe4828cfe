package io.lookalike.schemas;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.message.SchemaStore;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.util.ClassSecurityValidator;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serde for our Avro records in Avro's single-object encoding: two marker bytes, the writer
 * schema's 64-bit fingerprint, then the binary datum. No schema registry server is needed; a
 * message written with a schema this reader does not know is rejected with a {@link
 * SerializationException} that names the fingerprint, so callers can dead-letter it instead of
 * crashing.
 */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T> {

  static {
    // Avro 1.12 only instantiates classes it trusts; trust our generated records, keep the rest as
    // is.
    ClassSecurityValidator.setGlobal(
        ClassSecurityValidator.composite(
            ClassSecurityValidator.getGlobal(),
            c -> c.getPackageName().equals(AvroSerde.class.getPackageName())));
  }

  /**
   * Makes sure our generated records are trusted (the static block above has run); for other codecs
   * of them.
   */
  public static void trustOurRecords() {
    // class initialisation does it
  }

  private final Class<T> type;
  private final Schema schema;
  private final long javaFingerprint;
  private final long pythonFingerprint;
  private final BinaryMessageEncoder<T> encoder;
  private final BinaryMessageDecoder<T> decoder;

  /**
   * Reads records of {@code schema} under either of its {@link SchemaFingerprints} (Java's,
   * python3-avro's).
   */
  public AvroSerde(Class<T> type, Schema schema) {
    this(type, schema, null);
  }

  /**
   * @param olderSchemas resolves writer schemas of earlier versions by fingerprint; may be null
   */
  public AvroSerde(Class<T> type, Schema schema, SchemaStore olderSchemas) {
    this.type = type;
    this.schema = schema;
    SpecificData model = SpecificData.getForSchema(schema);
    this.encoder = new BinaryMessageEncoder<>(model, schema);
    this.decoder = new BinaryMessageDecoder<>(model, schema, olderSchemas);
    this.javaFingerprint = SchemaFingerprints.java(schema);
    this.pythonFingerprint = SchemaFingerprints.python(schema);
  }

  public byte[] serialize(T value) {
    if (value == null) {
      return null;
    }
    try {
      ByteBuffer buffer = encoder.encode(value);
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return bytes;
    } catch (IOException | AvroRuntimeException | ClassCastException | NullPointerException e) {
      throw new SerializationException(
          "Cannot encode " + type.getSimpleName() + ": " + e.getMessage(), e);
    }
  }

  public T deserialize(byte[] bytes) {
    if (bytes == null) {
      return null; // tombstone
    }
    try {
      return decoder.decode(asJavaFingerprint(bytes));
    } catch (MissingSchemaException e) {
      throw new SerializationException(unknownSchema(bytes), e);
    } catch (BadHeaderException e) {
      throw new SerializationException(
          "Not an Avro single-object encoded " + type.getSimpleName() + ": " + e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("Corrupt " + type.getSimpleName() + " record: " + e, e);
    }
  }

  /**
   * A record written under python3-avro's fingerprint of our schema, relabelled with Java's (same
   * schema).
   */
  private byte[] asJavaFingerprint(byte[] bytes) {
    if (bytes.length < 10
        || pythonFingerprint == javaFingerprint
        || ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong()
            != pythonFingerprint) {
      return bytes;
    }
    byte[] copy = bytes.clone();
    ByteBuffer.wrap(copy, 2, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(javaFingerprint);
    return copy;
  }

  /**
   * Names the record's fingerprint and the ones this reader knows, in hex as docs/producing.md
   * writes them.
   */
  private String unknownSchema(byte[] bytes) {
    long fingerprint =
        bytes.length >= 10
            ? ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong()
            : 0;
    StringBuilder expected = new StringBuilder();
    SchemaFingerprints.all(schema)
        .forEach(
            (who, f) ->
                expected
                    .append(expected.length() == 0 ? "" : ", ")
                    .append(SchemaFingerprints.hex(f))
                    .append(" (")
                    .append(who)
                    .append(')'));
    return "Unknown writer schema for "
        + type.getSimpleName()
        + ": fingerprint "
        + SchemaFingerprints.hex(fingerprint)
        + " (CRC-64-AVRO of the writer schema's canonical form, little-endian in bytes 2-9); expected "
        + expected
        + " or an earlier version this reader knows";
  }

  @Override
  public Serializer<T> serializer() {
    return (topic, value) -> serialize(value);
  }

  @Override
  public Deserializer<T> deserializer() {
    return (topic, bytes) -> deserialize(bytes);
  }
}
