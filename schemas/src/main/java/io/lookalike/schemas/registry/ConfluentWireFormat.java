package io.lookalike.schemas.registry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Confluent's wire format for Avro: a zero magic byte, the writer schema's registry id (4 bytes,
 * big-endian), then the Avro binary datum. A record written with a newer or older schema is
 * resolved to the reader's by Avro's schema resolution (an added optional field is skipped, a
 * removed one takes its default).
 */
public final class ConfluentWireFormat {

  public static final byte MAGIC = 0;
  public static final int HEADER_LENGTH = 5;

  static {
    io.lookalike.schemas.AvroSerde.trustOurRecords();
  }

  private ConfluentWireFormat() {}

  /** Whether the bytes start like a Confluent-framed value. */
  public static boolean matches(byte[] bytes) {
    return bytes != null && bytes.length >= HEADER_LENGTH && bytes[0] == MAGIC;
  }

  /** The writer schema's registry id. */
  public static int schemaId(byte[] bytes) {
    if (!matches(bytes)) {
      throw new SerializationException(
          "Not in the Confluent wire format (magic byte 0 + 4-byte schema id)");
    }
    return ByteBuffer.wrap(bytes, 1, 4).getInt();
  }

  public static <T extends SpecificRecord> byte[] encode(int schemaId, T record) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(MAGIC);
    out.writeBytes(ByteBuffer.allocate(4).putInt(schemaId).array());
    try {
      BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
      new SpecificDatumWriter<T>(record.getSchema(), SpecificData.getForSchema(record.getSchema()))
          .write(record, encoder);
      encoder.flush();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException(
          "Cannot encode " + record.getSchema().getName() + ": " + e.getMessage(), e);
    }
    return out.toByteArray();
  }

  /**
   * Decodes the datum written with {@code writer} into the reader's type (its schema is {@code
   * reader}).
   */
  public static <T extends SpecificRecord> T decode(byte[] bytes, Schema writer, Schema reader) {
    schemaId(bytes);
    try {
      BinaryDecoder decoder =
          DecoderFactory.get()
              .binaryDecoder(bytes, HEADER_LENGTH, bytes.length - HEADER_LENGTH, null);
      return new SpecificDatumReader<T>(writer, reader, SpecificData.getForSchema(reader))
          .read(null, decoder);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException(
          "Corrupt "
              + reader.getName()
              + " in the Confluent wire format (schema id "
              + schemaId(bytes)
              + "): "
              + e,
          e);
    }
  }
}
