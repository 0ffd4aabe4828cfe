package io.lookalike.ingest.connect;

import io.lookalike.ingest.CatalogFeedParser;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A full catalog feed behind an http(s) URL, requested on an interval with If-None-Match /
 * If-Modified-Since. Source partition: the URL. Source offset: the sha256 of the body being read,
 * the number of its last line handed over, whether all of it was, and the validators for the next
 * request; a restarted task that gets the same body again continues after that line, a new body is
 * read from its first line.
 */
final class UrlFeed {

  private static final Logger log = LoggerFactory.getLogger(UrlFeed.class);

  private final URI url;
  private final String format;
  private final String bearerToken;
  private final long maxBytes;
  private final Duration timeout;
  private final int maxLineBytes;
  private final boolean emitDeletes;
  private final FeedRecords records;
  private final Map<String, String> partition;
  private final HttpClient client;

  private String etag;
  private String lastModified;
  private String sha256;
  private long line;
  private boolean complete;
  private String previous;

  /** The body being read, or null between versions. */
  private byte[] body;

  private InputStream reader;
  private long position;
  private CatalogFeedParser parser;
  private Map<String, Long> seen = new LinkedHashMap<>();

  UrlFeed(CatalogFeedConfig config, FeedRecords records, OffsetStorageReader offsets) {
    this.url = URI.create(config.url());
    this.format = config.getString(CatalogFeedConfig.URL_FORMAT_CONFIG);
    this.bearerToken = config.bearerToken();
    this.maxBytes = config.getLong(CatalogFeedConfig.URL_MAX_BYTES_CONFIG);
    this.timeout = Duration.ofMillis(config.getInt(CatalogFeedConfig.URL_TIMEOUT_MS_CONFIG));
    this.maxLineBytes = config.getInt(CatalogFeedConfig.MAX_LINE_BYTES_CONFIG);
    this.emitDeletes = config.getBoolean(CatalogFeedConfig.EMIT_DELETES_CONFIG);
    this.records = records;
    this.partition = Map.of("url", url.toString());
    this.client =
        HttpClient.newBuilder()
            .connectTimeout(timeout)
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    Map<String, Object> offset = offsets.offset(partition);
    if (offset != null) {
      etag = (String) offset.get("etag");
      lastModified = (String) offset.get("lastModified");
      sha256 = (String) offset.get("sha256");
      line = ((Number) offset.get("line")).longValue();
      complete = Boolean.TRUE.equals(offset.get("complete"));
      previous = (String) offset.get("previous");
      if (complete && offset.get("products") != null) {
        seen = FeedRecords.unpack((String) offset.get("products"));
      }
    }
  }

  /** Whether a body is being read (so the task should not wait for the next interval). */
  boolean busy() {
    return body != null;
  }

  /**
   * Adds up to {@code max} records; requests the URL when {@code due} and no body is being read.
   */
  void poll(List<SourceRecord> out, int max, boolean due) throws IOException, InterruptedException {
    if (body == null && due) {
      request();
    }
    if (body == null) {
      return;
    }
    int before = out.size();
    List<FeedRecords.RawLine> lines =
        FeedRecords.read(reader, position, line, max - out.size(), maxLineBytes, true);
    for (FeedRecords.RawLine l : lines) {
      position = l.end();
      line = l.number();
      SourceRecord record =
          records.record(
              partition, offset(false), url.toString(), l, parser, emitDeletes ? seen : null);
      if (record != null) {
        out.add(record);
      }
    }
    if (position >= body.length) {
      finish(out, before);
    }
  }

  private void request() throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(url)
            .timeout(timeout)
            .GET()
            .header("Accept", "application/x-ndjson, application/jsonl, text/csv, */*;q=0.5");
    if (complete && etag != null) {
      request.header("If-None-Match", etag);
    }
    if (complete && lastModified != null) {
      request.header("If-Modified-Since", lastModified);
    }
    if (!bearerToken.isEmpty()) {
      request.header("Authorization", "Bearer " + bearerToken);
    }
    HttpResponse<InputStream> response =
        client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = response.body()) {
      if (response.statusCode() == 304) {
        log.debug("{} not modified", url);
        return;
      }
      if (response.statusCode() != 200) {
        log.warn(
            "{} answered HTTP {}; trying again at the next interval", url, response.statusCode());
        return;
      }
      byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
      if (bytes.length > maxBytes) {
        log.error(
            "{} is larger than {} bytes ({}); not read",
            url,
            maxBytes,
            CatalogFeedConfig.URL_MAX_BYTES_CONFIG);
        return;
      }
      String hash = sha256(bytes);
      String newEtag = response.headers().firstValue("ETag").orElse(null);
      String newLastModified = response.headers().firstValue("Last-Modified").orElse(null);
      if (hash.equals(sha256) && complete) {
        log.debug("{} unchanged (same sha256)", url);
        etag = newEtag;
        lastModified = newLastModified;
        return;
      }
      long skip = 0;
      if (hash.equals(sha256)) {
        skip = line; // the same version, partly handed over before a restart
        log.info("Resuming {} after line {}", url, line);
      } else {
        previous = emitDeletes && !seen.isEmpty() ? FeedRecords.pack(seen) : null;
        seen = new LinkedHashMap<>();
        line = 0;
        log.info("New version of {} ({} bytes)", url, bytes.length);
      }
      etag = newEtag;
      lastModified = newLastModified;
      sha256 = hash;
      complete = false;
      body = bytes;
      reader = new ByteArrayInputStream(bytes);
      position = 0;
      parser = new CatalogFeedParser(format(response), CatalogFeedParser.relativeTo(url));
      // Lines handed over already: read again only for the CSV header and the products seen.
      for (long number = 0; number < skip; ) {
        List<FeedRecords.RawLine> lines =
            FeedRecords.read(
                reader,
                position,
                number,
                (int) Math.min(skip - number, 10_000),
                maxLineBytes,
                true);
        if (lines.isEmpty()) {
          break;
        }
        for (FeedRecords.RawLine l : lines) {
          FeedRecords.collect(l, parser, seen);
          position = l.end();
        }
        number += lines.size();
      }
    }
  }

  /**
   * The whole body is handed over: DELETEs for products gone since the previous version, then mark
   * it complete.
   */
  private void finish(List<SourceRecord> out, int firstOfBatch) {
    if (emitDeletes && previous != null) {
      Map<String, Long> missing = FeedRecords.unpack(previous);
      missing.keySet().removeAll(seen.keySet());
      missing.forEach(
          (productId, lastVersion) ->
              out.add(records.delete(partition, offset(false), productId, lastVersion)));
      log.info(
          "{}: {} products of the previous version are gone, DELETEs emitted", url, missing.size());
    }
    previous = null;
    complete = true;
    body = null;
    reader = null;
    if (out.size() > firstOfBatch) {
      SourceRecord last = out.get(out.size() - 1);
      out.set(
          out.size() - 1,
          new SourceRecord(
              last.sourcePartition(),
              offset(true),
              last.topic(),
              last.kafkaPartition(),
              last.keySchema(),
              last.key(),
              last.valueSchema(),
              last.value(),
              last.timestamp(),
              last.headers()));
    }
  }

  private Map<String, Object> offset(boolean last) {
    Map<String, Object> offset = new HashMap<>();
    offset.put("sha256", sha256);
    offset.put("line", line);
    offset.put("complete", last);
    if (etag != null) {
      offset.put("etag", etag);
    }
    if (lastModified != null) {
      offset.put("lastModified", lastModified);
    }
    if (previous != null && !last) {
      offset.put("previous", previous);
    }
    if (last && emitDeletes) {
      offset.put("products", FeedRecords.pack(seen));
    }
    return offset;
  }

  private CatalogFeedParser.Format format(HttpResponse<?> response) {
    if (!format.equals("auto")) {
      return format.equals("csv")
          ? CatalogFeedParser.Format.CSV
          : CatalogFeedParser.Format.JSON_LINES;
    }
    String type = response.headers().firstValue("Content-Type").orElse("").toLowerCase(Locale.ROOT);
    return type.startsWith("text/csv")
        ? CatalogFeedParser.Format.CSV
        : CatalogFeedParser.Format.of(url.getPath());
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
