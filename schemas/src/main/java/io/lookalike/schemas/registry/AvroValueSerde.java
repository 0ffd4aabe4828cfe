package io.lookalike.schemas.registry;

import io.lookalike.schemas.AvroSerde;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka serde of one of our Avro records on any topic, used by every stage: reads each value in
 * whichever Avro encoding its writer chose, told apart per record by its first bytes ({@code C3 01}
 * + fingerprint: single-object encoding; {@code 00} + 4-byte schema id: Confluent wire format, the
 * writer schema fetched from the registry once per id), and writes the encoding configured by
 * {@code value.format} (the Confluent one registers the schema under the subject of {@code
 * value.subject.name.strategy}, once per subject).
 *
 * <p>Failures are of two kinds: a record at fault (corrupt, an unknown fingerprint, a schema id the
 * registry does not have, a schema of another record) is a {@link SerializationException} naming
 * what is wrong, for the caller to dead-letter; a registry that cannot be asked (after {@value
 * #ATTEMPTS} attempts with back-off) is a {@link RegistryUnavailableException}, for the caller to
 * retry, never to dead-letter.
 */
public final class AvroValueSerde<T extends SpecificRecord> implements Serde<T> {

  private static final Logger log = LoggerFactory.getLogger(AvroValueSerde.class);

  /**
   * Tries per registry call before giving up to the caller's own retry. Short on purpose: a stream
   * thread waits in here inside an open transaction.
   */
  static final int ATTEMPTS = 3;

  private static final long FIRST_BACKOFF_MS = 200;

  private final Class<T> type;
  private final Schema schema;
  private final AvroSerde<T> singleObject;
  private final SchemaRegistryClient registry;
  private final SchemaRegistryConfig.ValueFormat format;
  private final SubjectNameStrategy subjects;
  private final Map<String, Integer> idsByTopic = new ConcurrentHashMap<>();

  /** The encodings an Avro value can be in. */
  public enum Encoding {
    AVRO_SINGLE_OBJECT,
    CONFLUENT,
    OTHER
  }

  private AvroValueSerde(
      Class<T> type,
      Schema schema,
      SchemaRegistryClient registry,
      SchemaRegistryConfig.ValueFormat format,
      SubjectNameStrategy subjects) {
    this.type = type;
    this.schema = schema;
    this.singleObject = new AvroSerde<>(type, schema);
    this.registry = registry;
    this.format = format;
    this.subjects = subjects;
  }

  /** Reads both encodings (the Confluent one only with a registry), writes single-object. */
  public static <T extends SpecificRecord> AvroValueSerde<T> singleObject(
      Class<T> type, Schema schema, SchemaRegistryClient registry) {
    return new AvroValueSerde<>(
        type,
        schema,
        registry,
        SchemaRegistryConfig.ValueFormat.AVRO_SINGLE_OBJECT,
        SubjectNameStrategy.TOPIC);
  }

  /**
   * As the stage's schema registry settings say.
   *
   * @param registry the stage's one client (its caches are shared by all its serdes), or null when
   *     {@code schema.registry.url} is empty
   */
  public static <T extends SpecificRecord> AvroValueSerde<T> of(
      Class<T> type, Schema schema, SchemaRegistryConfig config, SchemaRegistryClient registry) {
    if (config.format() == SchemaRegistryConfig.ValueFormat.CONFLUENT && registry == null) {
      throw new ConfigException(
          SchemaRegistryConfig.VALUE_FORMAT_CONFIG,
          "confluent",
          "needs " + SchemaRegistryConfig.URL_CONFIG);
    }
    return new AvroValueSerde<>(
        type, schema, registry, config.format(), config.subjectNameStrategy());
  }

  /** The encoding of a value, from its first bytes. */
  public static Encoding encoding(byte[] value) {
    if (value.length >= 2 && (value[0] & 0xFF) == 0xC3 && value[1] == 0x01) {
      return Encoding.AVRO_SINGLE_OBJECT;
    }
    if (ConfluentWireFormat.matches(value)) {
      return Encoding.CONFLUENT;
    }
    return Encoding.OTHER;
  }

  public SchemaRegistryConfig.ValueFormat format() {
    return format;
  }

  /** The subject this serde registers its schema under when writing to {@code topic}. */
  public String subject(String topic) {
    return subjects.subject(topic, schema);
  }

  /**
   * The value, or null for a tombstone.
   *
   * @throws SerializationException the record is at fault (dead-letter it)
   * @throws RegistryUnavailableException the registry cannot be asked now (retry)
   */
  public T deserialize(byte[] bytes) {
    if (bytes == null) {
      return null;
    }
    return switch (encoding(bytes)) {
      case AVRO_SINGLE_OBJECT -> singleObject.deserialize(bytes);
      case CONFLUENT -> ConfluentWireFormat.decode(bytes, writerSchema(bytes), schema);
      case OTHER ->
          throw new SerializationException(
              String.format(
                  "Not an Avro %s: first bytes 0x%02X 0x%02X, expected Avro single-object (C3 01 +"
                      + " fingerprint) or the Confluent wire format (00 + schema id)",
                  type.getSimpleName(),
                  bytes.length > 0 ? bytes[0] : 0,
                  bytes.length > 1 ? bytes[1] : 0));
    };
  }

  /**
   * Makes sure the writer schema of a Confluent-framed value is at hand (fetched and cached), so
   * that a batch is known to be decodable before any of it is dead-lettered; other values pass.
   *
   * @throws RegistryUnavailableException the registry cannot be asked now (retry the batch)
   */
  public void prefetch(byte[] bytes) {
    if (bytes != null && registry != null && encoding(bytes) == Encoding.CONFLUENT) {
      try {
        writerSchema(bytes);
      } catch (SerializationException e) {
        // the record's fault: the caller dead-letters it when it decodes it
      }
    }
  }

  /** The value in the configured encoding (null for null). */
  public byte[] serialize(String topic, T value) {
    if (value == null) {
      return null;
    }
    if (format == SchemaRegistryConfig.ValueFormat.AVRO_SINGLE_OBJECT) {
      return singleObject.serialize(value);
    }
    return ConfluentWireFormat.encode(schemaId(topic), value);
  }

  /**
   * Registers the schema for {@code topic} now, when this serde writes the Confluent format (a
   * stage calls it at start-up, to fail there with the registry's reason); its id, or -1.
   *
   * @throws SerializationException the registry refuses the schema (e.g. incompatible)
   * @throws RegistryUnavailableException it cannot be asked now
   */
  public int register(String topic) {
    return format == SchemaRegistryConfig.ValueFormat.CONFLUENT ? schemaId(topic) : -1;
  }

  /**
   * {@link #register} at a stage's start-up: a refusal fails the start naming {@code value.format};
   * a registry that cannot be asked now is logged and asked again on the first record written.
   */
  public void registerAtStartUp(String topic) {
    try {
      register(topic);
    } catch (SerializationException e) {
      throw new ConfigException(
          SchemaRegistryConfig.VALUE_FORMAT_CONFIG, format.configName(), e.getMessage());
    } catch (RegistryUnavailableException e) {
      log.warn("{}; asked again when the first record is written to {}", e.getMessage(), topic);
    }
  }

  private int schemaId(String topic) {
    Integer cached = idsByTopic.get(topic);
    if (cached != null) {
      return cached;
    }
    String subject = subject(topic);
    int id =
        call(
            "Cannot register " + type.getSimpleName() + " under subject " + subject,
            () -> registry.register(subject, schema),
            e ->
                new SerializationException(
                    "Cannot register "
                        + type.getSimpleName()
                        + " under subject "
                        + subject
                        + ": "
                        + e.getMessage(),
                    e));
    idsByTopic.put(topic, id);
    return id;
  }

  private Schema writerSchema(byte[] bytes) {
    int id = ConfluentWireFormat.schemaId(bytes);
    if (registry == null) {
      throw new SerializationException(
          "Confluent wire format (schema id "
              + id
              + ") but no schema registry is configured ("
              + SchemaRegistryConfig.URL_CONFIG
              + ")");
    }
    Schema writer =
        call(
            "Cannot fetch schema id " + id,
            () -> registry.schemaById(id),
            e ->
                new SerializationException(
                    "Schema id " + id + " is unknown to the registry: " + e.getMessage(), e));
    if (!writer.getFullName().equals(schema.getFullName())) {
      throw new SerializationException(
          "Schema id " + id + " is " + writer.getFullName() + ", not " + schema.getFullName());
    }
    return writer;
  }

  private interface RegistryCall<R> {
    R call() throws IOException;
  }

  private interface Refusal {
    SerializationException of(SchemaRegistryClient.RegistryException e);
  }

  /**
   * A registry call, retried with back-off while the registry cannot be asked; its own refusal
   * (unknown id, incompatible schema: a definite answer about the record) is not retried.
   */
  private <R> R call(String what, RegistryCall<R> call, Refusal refusal) {
    for (int attempt = 1; ; attempt++) {
      IOException failure;
      try {
        return call.call();
      } catch (SchemaRegistryClient.RegistryException e) {
        if (e.isRefusal()) {
          throw refusal.of(e);
        }
        failure = e;
      } catch (IOException e) {
        failure = e;
      }
      if (attempt >= ATTEMPTS) {
        throw new RegistryUnavailableException(
            what
                + " (schema registry unavailable, "
                + ATTEMPTS
                + " attempts): "
                + failure.getMessage(),
            failure);
      }
      long backoff = FIRST_BACKOFF_MS << (attempt - 1);
      log.warn(
          "Retry {} of {} in {} ms: {}: {}",
          attempt,
          ATTEMPTS - 1,
          backoff,
          what,
          failure.getMessage());
      try {
        Thread.sleep(backoff); // back-off between attempts, bounded by ATTEMPTS
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RegistryUnavailableException(what + ": interrupted", e);
      }
    }
  }

  @Override
  public Serializer<T> serializer() {
    return this::serialize;
  }

  @Override
  public Deserializer<T> deserializer() {
    return (topic, bytes) -> deserialize(bytes);
  }

  @Override
  public String toString() {
    return "AvroValueSerde{"
        + type.getSimpleName()
        + ", writes "
        + format.configName()
        + (registry == null ? ", no registry" : ", " + registry)
        + "}";
  }
}
