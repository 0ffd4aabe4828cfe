package io.lookalike.ingest.connect;

import io.lookalike.ingest.CatalogFeedParser;
import io.lookalike.schemas.DeadLetters;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import io.micrometer.core.instrument.Metrics;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.source.SourceRecord;

/** What both feed sources share: reading lines with their byte positions, and building the records. */
final class FeedRecords {

  static final String STAGE = "connector";
  /** Dead-letter headers of the connector, beside {@link DeadLetters}'. */
  static final String SOURCE_HEADER = "lookalike.feed.source";
  static final String LINE_HEADER = "lookalike.feed.line";
  static final String INVALID_LINE = "invalid_line";
  static final String LINE_TOO_LONG = "line_too_long";

  private final String topic;
  private final String deadLetterTopic;

  FeedRecords(CatalogFeedConfig config) {
    this.topic = config.getString(CatalogFeedConfig.TOPIC_CONFIG);
    this.deadLetterTopic = config.getString(CatalogFeedConfig.DEAD_LETTER_TOPIC_CONFIG);
  }

  /** One line: its 1-based number, its bytes (without the line break), where it ends, whether it was cut. */
  record RawLine(long number, byte[] bytes, long end, boolean tooLong) {
    String text() {
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  /**
   * Reads up to {@code max} lines from {@code in}, which is positioned at byte {@code position} (the
   * start of line {@code lastLine + 1}). A last line without a break is returned only when
   * {@code eofEndsLine}. A line longer than {@code maxLineBytes} comes back cut, marked too long.
   */
  static List<RawLine> read(InputStream in, long position, long lastLine, int max, int maxLineBytes,
                            boolean eofEndsLine) throws IOException {
    List<RawLine> lines = new ArrayList<>();
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    long pos = position;
    long length = 0;
    int b;
    while (lines.size() < max && (b = in.read()) != -1) {
      pos++;
      if (b == '\n') {
        lines.add(finish(line, lastLine + lines.size() + 1, pos, length > maxLineBytes));
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
      lines.add(finish(line, lastLine + lines.size() + 1, pos, length > maxLineBytes));
    }
    return lines;
  }

  private static RawLine finish(ByteArrayOutputStream line, long number, long end, boolean tooLong) {
    byte[] bytes = line.toByteArray();
    if (bytes.length > 0 && bytes[bytes.length - 1] == '\r') {
      bytes = java.util.Arrays.copyOf(bytes, bytes.length - 1);
    }
    return new RawLine(number, bytes, end, tooLong);
  }

  /**
   * The record(s) of one line: its event, a dead letter when it is malformed, or nothing for a blank
   * line, a comment or a CSV header. Adds the productId to {@code seen}.
   */
  SourceRecord record(Map<String, ?> partition, Map<String, ?> offset, String source, RawLine line,
                      CatalogFeedParser parser, Set<String> seen) {
    if (line.tooLong()) {
      return deadLetter(partition, offset, source, line, LINE_TOO_LONG, "line " + line.number() + " of " + source
          + " is longer than " + line.bytes().length + " bytes");
    }
    ProductEvent event;
    try {
      event = parser.parse(line.text());
    } catch (IllegalArgumentException e) {
      return deadLetter(partition, offset, source, line, INVALID_LINE,
          "line " + line.number() + " of " + source + ": " + e.getMessage());
    }
    if (event == null) {
      return null;
    }
    if (seen != null) {
      if (event.getType() == EventType.DELETE) {
        seen.remove(event.getProductId());
      } else {
        seen.add(event.getProductId());
      }
    }
    return new SourceRecord(partition, offset, topic, null, Schema.STRING_SCHEMA, event.getProductId(),
        Schema.BYTES_SCHEMA, Serdes.productEvent().serialize(event), null, null);
  }

  /** Parses a line handed over before (again, after a restart) only to learn the CSV header and the products seen. */
  static void collect(RawLine line, CatalogFeedParser parser, Set<String> seen) {
    try {
      ProductEvent event = line.tooLong() ? null : parser.parse(line.text());
      if (event != null && event.getType() == EventType.DELETE) {
        seen.remove(event.getProductId());
      } else if (event != null) {
        seen.add(event.getProductId());
      }
    } catch (IllegalArgumentException e) {
      // dead-lettered when it was first read
    }
  }

  /** A DELETE for a product missing from a new version of a full feed. */
  SourceRecord delete(Map<String, ?> partition, Map<String, ?> offset, String productId, long version) {
    ProductEvent event = ProductEvent.newBuilder().setEventId(productId + ":" + version + ":missing")
        .setType(EventType.DELETE).setProductId(productId).setVersion(version)
        .setOccurredAt(Instant.ofEpochMilli(version)).setImages(List.of()).build();
    return new SourceRecord(partition, offset, topic, null, Schema.STRING_SCHEMA, productId,
        Schema.BYTES_SCHEMA, Serdes.productEvent().serialize(event), null, null);
  }

  private SourceRecord deadLetter(Map<String, ?> partition, Map<String, ?> offset, String source, RawLine line,
                                  String reasonCode, String reason) {
    ConnectHeaders headers = new ConnectHeaders();
    DeadLetters.record(deadLetterTopic, null, line.bytes(), STAGE, reasonCode, reason,
            new IllegalArgumentException(reason), null)
        .headers().forEach(h -> headers.addString(h.key(), new String(h.value(), StandardCharsets.UTF_8)));
    headers.addString(SOURCE_HEADER, source);
    headers.addString(LINE_HEADER, Long.toString(line.number()));
    Metrics.counter("lookalike.connector.rejected", "reason", reasonCode).increment();
    return new SourceRecord(partition, offset, deadLetterTopic, null, null, null,
        Schema.BYTES_SCHEMA, line.bytes(), null, headers);
  }

  /** A set of product ids as gzip + base64, small enough for a source offset. */
  static String pack(Set<String> productIds) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
      gzip.write(String.join("\n", new TreeSet<>(productIds)).getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Base64.getEncoder().encodeToString(bytes.toByteArray());
  }

  static Set<String> unpack(String packed) {
    if (packed == null || packed.isEmpty()) {
      return new LinkedHashSet<>();
    }
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(packed)))) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      Set<String> ids = new LinkedHashSet<>();
      for (String id : text.split("\n")) {
        if (!id.isEmpty()) {
          ids.add(id);
        }
      }
      return ids;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
