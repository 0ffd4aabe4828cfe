package io.lookalike.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lookalike.image.RejectedImageException;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.registry.AvroValueSerde;
import io.lookalike.schemas.registry.RegistryUnavailableException;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import java.io.IOException;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Reads a {@code product-events} record value in whichever encoding its producer chose, told apart per
 * record by its first bytes:
 * (the Avro ones by {@link AvroValueSerde}, the serde of every stage):
 *
 * <ul>
 *   <li>{@code C3 01}: Avro single-object encoding (then the writer schema's 8-byte fingerprint);
 *   <li>{@code 00}: Confluent wire format (then a 4-byte schema id, big-endian), needs a schema registry;
 *   <li>{@code {} (after optional white space): JSON in the webhook's shape, read by {@link ProductEventJson}.
 * </ul>
 */
public final class ProductEventDecoder {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final AvroValueSerde<ProductEvent> avro;

  /** Without a schema registry: Confluent-framed records are dead-lettered, saying so. */
  public ProductEventDecoder() {
    this(null);
  }

  /**
   * @param registry where Confluent-framed records' writer schemas are looked up; may be null
   */
  public ProductEventDecoder(SchemaRegistryClient registry) {
    this.avro =
        AvroValueSerde.singleObject(ProductEvent.class, ProductEvent.getClassSchema(), registry);
  }

  /** The encodings a value can be in. */
  public enum Encoding {
    AVRO_SINGLE_OBJECT,
    CONFLUENT,
    JSON,
    UNKNOWN
  }

  /** The encoding of a value, from its first bytes. */
  public static Encoding encoding(byte[] value) {
    switch (AvroValueSerde.encoding(value)) {
      case AVRO_SINGLE_OBJECT:
        return Encoding.AVRO_SINGLE_OBJECT;
      case CONFLUENT:
        return Encoding.CONFLUENT;
      default:
        break;
    }
    for (byte b : value) {
      if (b == '{') {
        return Encoding.JSON;
      }
      if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
        break;
      }
    }
    return Encoding.UNKNOWN;
  }

  /**
   * The event, or a rejection naming what is wrong.
   *
   * @param timestamp the record's timestamp: a JSON event without {@code occurredAt} occurred then
   *     (so that decoding it again, after a restart, gives the same event)
   */
  public ProductEvent decode(byte[] value, long timestamp) throws RejectedImageException {
    if (value == null) {
      throw new RejectedImageException(RejectedImageException.INVALID_EVENT, "null product event");
    }
    try {
      return switch (encoding(value)) {
        case AVRO_SINGLE_OBJECT, CONFLUENT -> avro.deserialize(value);
        case JSON -> json(value, timestamp);
        case UNKNOWN ->
            throw new RejectedImageException(
                RejectedImageException.INVALID_EVENT,
                String.format(
                    "Unrecognised encoding (first bytes 0x%02X 0x%02X): expected Avro single-object (C3 01), "
                        + "Confluent wire format (00 + schema id) or a JSON object",
                    value.length > 0 ? value[0] : 0, value.length > 1 ? value[1] : 0));
      };
    } catch (SerializationException e) {
      throw new RejectedImageException(RejectedImageException.INVALID_EVENT, e.getMessage(), e);
    }
  }

  private static ProductEvent json(byte[] value, long timestamp) throws RejectedImageException {
    JsonNode node;
    try {
      node = JSON.readTree(value);
    } catch (IOException e) {
      throw new RejectedImageException(
          RejectedImageException.INVALID_EVENT,
          "not JSON: " + e.getMessage().lines().findFirst().orElse(""),
          e);
    }
    try {
      // file: URLs pass here: the fetcher's own image.fetch.allow.file decides, per image
      // (scheme_not_allowed).
      return ProductEventJson.read(node, new ProductEventJson.Rules(null, true, () -> timestamp));
    } catch (IllegalArgumentException e) {
      throw new RejectedImageException(
          RejectedImageException.INVALID_EVENT, "invalid JSON event: " + e.getMessage(), e);
    }
  }

  /** The productId of a decodable event, or null (the record is dead-lettered later). */
  String productIdOrNull(byte[] value, long timestamp) {
    try {
      String productId = decode(value, timestamp).getProductId();
      return productId == null || productId.isBlank() ? null : productId;
    } catch (RegistryUnavailableException e) {
      throw e; // retried by the stream thread, not dead-lettered
    } catch (RejectedImageException | RuntimeException e) {
      return null;
    }
  }
}
