package io.lookalike.ingest.connect;

import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/** Settings of the catalog feed source connector. */
public final class CatalogFeedConfig extends AbstractConfig {

  public static final String DIR_CONFIG = "feed.dir";
  private static final String DIR_DOC =
      "Directory whose feed files (JSON Lines, or CSV when named *.csv) are read: "
          + "new files, lines appended to a file, and files replaced by a new version (read again from the start). "
          + "Empty: no directory. At least one of feed.dir and feed.url is required.";

  public static final String DIR_PATTERN_CONFIG = "feed.dir.pattern";
  private static final String DIR_PATTERN_DOC =
      "Glob of the file names read in feed.dir; files are read in name order.";

  public static final String URL_CONFIG = "feed.url";
  private static final String URL_DOC =
      "http(s) URL of a full catalog feed fetched every feed.poll.interval.ms with "
          + "If-None-Match / If-Modified-Since; a changed body is a new version, read from its first line. Empty: none.";

  public static final String URL_FORMAT_CONFIG = "feed.url.format";
  private static final String URL_FORMAT_DOC =
      "Format of the feed.url body: jsonl, csv, or auto (csv when the URL path "
          + "ends in .csv or the Content-Type is text/csv, jsonl otherwise).";

  public static final String URL_BEARER_TOKEN_CONFIG = "feed.url.bearer.token";
  private static final String URL_BEARER_TOKEN_DOC =
      "Sent as 'Authorization: Bearer <token>' with every feed.url request; empty: none.";

  public static final String URL_MAX_BYTES_CONFIG = "feed.url.max.bytes";
  private static final String URL_MAX_BYTES_DOC =
      "Largest feed.url body accepted (it is held in memory while read).";

  public static final String URL_TIMEOUT_MS_CONFIG = "feed.url.timeout.ms";
  private static final String URL_TIMEOUT_MS_DOC =
      "Time allowed for one feed.url request, from connecting to the last byte.";

  public static final String POLL_INTERVAL_MS_CONFIG = "feed.poll.interval.ms";
  private static final String POLL_INTERVAL_MS_DOC =
      "How often feed.dir is scanned and feed.url is requested.";

  public static final String BATCH_SIZE_CONFIG = "feed.batch.size";
  private static final String BATCH_SIZE_DOC = "Most records returned by one poll of the task.";

  public static final String SETTLE_MS_CONFIG = "feed.file.settle.ms";
  private static final String SETTLE_MS_DOC =
      "A last line without a line break is read only once its file has not "
          + "changed for this long (it may still be being written).";

  public static final String MAX_LINE_BYTES_CONFIG = "feed.max.line.bytes";
  private static final String MAX_LINE_BYTES_DOC =
      "Longest line accepted; a longer one is dead-lettered (line_too_long).";

  public static final String EMIT_DELETES_CONFIG = "feed.emit.deletes";
  private static final String EMIT_DELETES_DOC =
      "Treat each version of a file or of feed.url as the full catalog of that "
          + "source: once a new version has been read, emit a DELETE for every product of the previous version that it "
          + "no longer lists. The previous version's product ids travel in the source offsets, gzip-compressed "
          + "(mind the offsets topic's message size for catalogs of millions of products).";

  // The connector writes ProductEvents (Avro single-object encoding) to TOPIC_CONFIG: run it with
  // value.converter=org.apache.kafka.connect.converters.ByteArrayConverter and
  // key.converter=org.apache.kafka.connect.storage.StringConverter. Malformed lines go to
  // DEAD_LETTER_TOPIC_CONFIG
  // with the file or URL and the line number in headers.
  public static final String TOPIC_CONFIG = Topics.PRODUCT_EVENTS_CONFIG;
  public static final String DEAD_LETTER_TOPIC_CONFIG = Topics.DEAD_LETTERS_CONFIG;

  public static final ConfigDef CONFIG_DEF =
      SchemaRegistryConfig.addTo(Topics.configDef(TOPIC_CONFIG, DEAD_LETTER_TOPIC_CONFIG))
          .define(DIR_CONFIG, Type.STRING, "", Importance.HIGH, DIR_DOC)
          .define(
              DIR_PATTERN_CONFIG,
              Type.STRING,
              "*.{jsonl,ndjson,json,csv}",
              new ConfigDef.NonEmptyString(),
              Importance.MEDIUM,
              DIR_PATTERN_DOC)
          .define(
              URL_CONFIG, Type.STRING, "", CatalogFeedConfig::validateUrl, Importance.HIGH, URL_DOC)
          .define(
              URL_FORMAT_CONFIG,
              Type.STRING,
              "auto",
              ConfigDef.ValidString.in("auto", "jsonl", "csv"),
              Importance.LOW,
              URL_FORMAT_DOC)
          .define(
              URL_BEARER_TOKEN_CONFIG, Type.PASSWORD, "", Importance.MEDIUM, URL_BEARER_TOKEN_DOC)
          .define(
              URL_MAX_BYTES_CONFIG,
              Type.LONG,
              256L << 20,
              Range.between(1, Integer.MAX_VALUE - 8),
              Importance.LOW,
              URL_MAX_BYTES_DOC)
          .define(
              URL_TIMEOUT_MS_CONFIG,
              Type.INT,
              60_000,
              Range.atLeast(1),
              Importance.LOW,
              URL_TIMEOUT_MS_DOC)
          .define(
              POLL_INTERVAL_MS_CONFIG,
              Type.LONG,
              10_000L,
              Range.atLeast(10),
              Importance.MEDIUM,
              POLL_INTERVAL_MS_DOC)
          .define(
              BATCH_SIZE_CONFIG,
              Type.INT,
              1000,
              Range.between(1, 100_000),
              Importance.LOW,
              BATCH_SIZE_DOC)
          .define(
              SETTLE_MS_CONFIG, Type.LONG, 1000L, Range.atLeast(0), Importance.LOW, SETTLE_MS_DOC)
          .define(
              MAX_LINE_BYTES_CONFIG,
              Type.INT,
              1 << 20,
              Range.between(64, 64 << 20),
              Importance.LOW,
              MAX_LINE_BYTES_DOC)
          .define(EMIT_DELETES_CONFIG, Type.BOOLEAN, false, Importance.MEDIUM, EMIT_DELETES_DOC);

  public CatalogFeedConfig(Map<?, ?> props) {
    super(CONFIG_DEF, props);
    if (dir().isEmpty() && url().isEmpty()) {
      throw new ConfigException(
          "Set "
              + DIR_CONFIG
              + " or "
              + URL_CONFIG
              + " (or both): the connector has nothing to read");
    }
  }

  public String dir() {
    return getString(DIR_CONFIG).strip();
  }

  public String url() {
    return getString(URL_CONFIG).strip();
  }

  public String bearerToken() {
    Password token = getPassword(URL_BEARER_TOKEN_CONFIG);
    return token == null ? "" : token.value();
  }

  private static void validateUrl(String name, Object value) {
    String url = value == null ? "" : value.toString().strip();
    if (url.isEmpty()) {
      return;
    }
    try {
      URI uri = new URI(url);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
        throw new ConfigException(name, value, "must be an http(s) URL with a host");
      }
    } catch (java.net.URISyntaxException e) {
      throw new ConfigException(name, value, "not a URL: " + e.getMessage());
    }
  }
}
