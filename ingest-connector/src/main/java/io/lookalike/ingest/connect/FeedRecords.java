package io.lookalike.ingest.connect;

import io.lookalike.ingest.CatalogFeedParser;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.registry.AvroValueSerde;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * What both feed sources share: reading lines with their byte positions, and building the records.
 */
final class FeedRecords {

  static final String STAGE = "connector";

  /** Dead-letter headers of the connector, beside {@link DeadLetters}'. */
  static final String SOURCE_HEADER = "lookalike.feed.source";

  static final String LINE_HEADER = "lookalike.feed.line";
  static final String INVALID_LINE = "invalid_line";
  static final String LINE_TOO_LONG = "line_too_long";

  static final String REJECTED_METRIC = "lookalike.connector.rejected";

  private final String topic;
  private final String deadLetterTopic;
  private final MeterRegistry registry;
  private final AvroValueSerde<ProductEvent> events;

  FeedRecords(CatalogFeedConfig config, MeterRegistry registry) {
    this.topic = config.getString(CatalogFeedConfig.TOPIC_CONFIG);
    this.deadLetterTopic = config.getString(CatalogFeedConfig.DEAD_LETTER_TOPIC_CONFIG);
    this.registry = registry;
    SchemaRegistryConfig registryConfig = new SchemaRegistryConfig(config.originals());
    this.events = Serdes.productEvent(registryConfig, registryConfig.clientOrNull());
  }

  /**
   * Registers ProductEvent under the topic's subject when {@code value.format=confluent} (the task
   * calls it at start-up): its id is then cached, so polls never ask the registry and a registry
   * outage cannot interrupt a poll half-way through a file.
   *
   * @throws ConnectException the registry refuses the schema or cannot be asked (the task fails at
   *     start, saying so; restart it once the registry answers)
   */
  void registerSchema() {
    try {
      events.register(topic);
    } catch (RuntimeException e) {
      throw new ConnectException(
          e.getMessage()
              + " (restart the task once the registry answers, or set "
              + SchemaRegistryConfig.VALUE_FORMAT_CONFIG
              + "=avro-single-object)",
          e);
    }
  }

  /** A product event's value bytes in the configured {@code value.format}. */
  byte[] encode(ProductEvent event) {
    return events.serialize(topic, event);
  }

  /**
   * One line: its 1-based number, its bytes (without the line break), where it ends, whether it was
   * cut, and the checksum of the input from its start to the line's end (null when not asked for).
   */
  record RawLine(long number, byte[] bytes, long end, boolean tooLong, String checksum) {
    String text() {
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  /**
   * Reads up to {@code max} lines from {@code in}, which is positioned at byte {@code position}
   * (the start of line {@code lastLine + 1}). A last line without a break is returned only when
   * {@code eofEndsLine}. A line longer than {@code maxLineBytes} comes back cut, marked too long.
   */
  static List<RawLine> read(
      InputStream in, long position, long lastLine, int max, int maxLineBytes, boolean eofEndsLine)
      throws IOException {
    return read(in, position, lastLine, max, maxLineBytes, eofEndsLine, null);
  }

  /**
   * As above, advancing {@code checksum} (of the input before {@code position}) over each line
   * returned.
   */
  static List<RawLine> read(
      InputStream in,
      long position,
      long lastLine,
      int max,
      int maxLineBytes,
      boolean eofEndsLine,
      ContentChecksum checksum)
      throws IOException {
    List<RawLine> lines = new ArrayList<>();
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    long pos = position;
    long length = 0;
    int b;
    while (lines.size() < max && (b = in.read()) != -1) {
      pos++;
      if (checksum != null) {
        checksum.update(b);
      }
      if (b == '\n') {
        lines.add(finish(line, lastLine + lines.size() + 1, pos, length > maxLineBytes, checksum));
        line.reset();
        length = 0;
        continue;
      }
      length++;
      if (length <= maxLineBytes) {
        line.write(b);
      }
    }
    if (lines.size() < max && length > 0 && eofEndsLine) {
      lines.add(finish(line, lastLine + lines.size() + 1, pos, length > maxLineBytes, checksum));
    } else if (checksum != null) {
      checksum.dropPartial();
    }
    return lines;
  }

  private static RawLine finish(
      ByteArrayOutputStream line,
      long number,
      long end,
      boolean tooLong,
      ContentChecksum checksum) {
    byte[] bytes = line.toByteArray();
    if (bytes.length > 0 && bytes[bytes.length - 1] == '\r') {
      bytes = java.util.Arrays.copyOf(bytes, bytes.length - 1);
    }
    return new RawLine(number, bytes, end, tooLong, checksum == null ? null : checksum.endLine());
  }

  /**
   * The record(s) of one line: its event, a dead letter when it is malformed, or nothing for a
   * blank line, a comment or a CSV header. Records the productId and its version in {@code seen}.
   */
  SourceRecord record(
      Map<String, ?> partition,
      Map<String, ?> offset,
      String source,
      RawLine line,
      CatalogFeedParser parser,
      Map<String, Long> seen) {
    if (line.tooLong()) {
      return deadLetter(
          partition,
          offset,
          source,
          line,
          LINE_TOO_LONG,
          "line "
              + line.number()
              + " of "
              + source
              + " is longer than "
              + line.bytes().length
              + " bytes");
    }
    ProductEvent event;
    try {
      event = parser.parse(line.text());
    } catch (IllegalArgumentException e) {
      return deadLetter(
          partition,
          offset,
          source,
          line,
          INVALID_LINE,
          "line " + line.number() + " of " + source + ": " + e.getMessage());
    }
    if (event == null) {
      return null;
    }
    if (seen != null) {
      remember(event, seen);
    }
    return new SourceRecord(
        partition,
        offset,
        topic,
        null,
        Schema.STRING_SCHEMA,
        event.getProductId(),
        Schema.BYTES_SCHEMA,
        encode(event),
        null,
        null);
  }

  /**
   * Parses a line handed over before (again, after a restart) only to learn the CSV header and the
   * products seen.
   */
  static void collect(RawLine line, CatalogFeedParser parser, Map<String, Long> seen) {
    try {
      ProductEvent event = line.tooLong() ? null : parser.parse(line.text());
      if (event != null) {
        remember(event, seen);
      }
    } catch (IllegalArgumentException e) {
      // dead-lettered when it was first read
    }
  }

  private static void remember(ProductEvent event, Map<String, Long> seen) {
    if (event.getType() == EventType.DELETE) {
      seen.remove(event.getProductId());
    } else {
      seen.put(event.getProductId(), event.getVersion());
    }
  }

  /**
   * A DELETE for a product missing from a new version of a full feed: it carries the last version
   * the feed listed the product with ({@code lastVersion}; null for offsets written before versions
   * were kept: the wall clock then) and occurs now, so the fetcher's (version, occurredAt) order
   * puts it after that listing and before any re-listing (a higher version, or the same one read
   * later).
   */
  SourceRecord delete(
      Map<String, ?> partition, Map<String, ?> offset, String productId, Long lastVersion) {
    long now = System.currentTimeMillis();
    long version = lastVersion != null ? lastVersion : now;
    ProductEvent event =
        ProductEvent.newBuilder()
            .setEventId(productId + ":" + version + ":missing@" + now)
            .setType(EventType.DELETE)
            .setProductId(productId)
            .setVersion(version)
            .setOccurredAt(Instant.ofEpochMilli(now))
            .setImages(List.of())
            .build();
    return new SourceRecord(
        partition,
        offset,
        topic,
        null,
        Schema.STRING_SCHEMA,
        productId,
        Schema.BYTES_SCHEMA,
        encode(event),
        null,
        null);
  }

  private SourceRecord deadLetter(
      Map<String, ?> partition,
      Map<String, ?> offset,
      String source,
      RawLine line,
      String reasonCode,
      String reason) {
    ConnectHeaders headers = new ConnectHeaders();
    DeadLetters.record(
            deadLetterTopic,
            null,
            line.bytes(),
            STAGE,
            reasonCode,
            reason,
            new IllegalArgumentException(reason),
            null)
        .headers()
        .forEach(h -> headers.addString(h.key(), new String(h.value(), StandardCharsets.UTF_8)));
    headers.addString(SOURCE_HEADER, source);
    headers.addString(LINE_HEADER, Long.toString(line.number()));
    Counter.builder(REJECTED_METRIC)
        .tag("reason", reasonCode)
        .description("Feed lines dead-lettered")
        .register(registry)
        .increment();
    return new SourceRecord(
        partition,
        offset,
        deadLetterTopic,
        null,
        null,
        null,
        Schema.BYTES_SCHEMA,
        line.bytes(),
        null,
        headers);
  }

  /**
   * Product ids with their last version, as gzip + base64 of "id TAB version" lines: small enough
   * for a source offset.
   */
  static String pack(Map<String, Long> products) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    StringBuilder text = new StringBuilder();
    new TreeMap<>(products)
        .forEach(
            (id, version) -> {
              text.append(id);
              if (version != null) {
                text.append('\t').append(version);
              }
              text.append('\n');
            });
    try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
      gzip.write(text.toString().getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Base64.getEncoder().encodeToString(bytes.toByteArray());
  }

  /**
   * The ids and versions of {@link #pack}; an id without a version (offsets of older releases) maps
   * to null.
   */
  static Map<String, Long> unpack(String packed) {
    if (packed == null || packed.isEmpty()) {
      return new LinkedHashMap<>();
    }
    try (InputStream in =
        new GZIPInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(packed)))) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      Map<String, Long> ids = new LinkedHashMap<>();
      for (String line : text.split("\n")) {
        int tab = line.lastIndexOf('\t');
        if (tab >= 0) {
          ids.put(line.substring(0, tab), Long.parseLong(line.substring(tab + 1)));
        } else if (!line.isEmpty()) {
          ids.put(line, null);
        }
      }
      return ids;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
