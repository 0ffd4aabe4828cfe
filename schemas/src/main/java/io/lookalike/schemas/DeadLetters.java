package io.lookalike.schemas;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * How every stage writes to the dead-letter topic: the original key and bytes, and the reason in
 * headers. The {@code reason code} is a short, stable token (e.g. {@code corrupt_image}) that
 * metrics count by; the reason is a sentence for people.
 */
public final class DeadLetters {

  public static final String STAGE = "lookalike.dlq.stage";
  public static final String REASON_CODE = "lookalike.dlq.reason.code";
  public static final String REASON = "lookalike.dlq.reason";
  public static final String ERROR_CLASS = "lookalike.dlq.error.class";
  public static final String SOURCE_TOPIC = "lookalike.dlq.source.topic";
  public static final String SOURCE_PARTITION = "lookalike.dlq.source.partition";
  public static final String SOURCE_OFFSET = "lookalike.dlq.source.offset";

  private DeadLetters() {}

  /** Where a failed record came from. */
  public record Source(String topic, int partition, long offset) {}

  public static ProducerRecord<byte[], byte[]> record(
      String deadLetterTopic,
      byte[] key,
      byte[] value,
      String stage,
      String reasonCode,
      String reason,
      Throwable error,
      Source source) {
    Headers headers = new RecordHeaders();
    put(headers, STAGE, stage);
    put(headers, REASON_CODE, reasonCode);
    put(headers, REASON, reason);
    if (error != null) {
      put(headers, ERROR_CLASS, error.getClass().getName());
    }
    if (source != null) {
      put(headers, SOURCE_TOPIC, source.topic());
      put(headers, SOURCE_PARTITION, Integer.toString(source.partition()));
      put(headers, SOURCE_OFFSET, Long.toString(source.offset()));
    }
    return new ProducerRecord<>(deadLetterTopic, null, key, value, headers);
  }

  /** The value of a header as a string, or null. */
  public static String header(Headers headers, String name) {
    var header = headers.lastHeader(name);
    return header == null || header.value() == null
        ? null
        : new String(header.value(), StandardCharsets.UTF_8);
  }

  private static void put(Headers headers, String name, String value) {
    if (value != null) {
      headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
  }
}
