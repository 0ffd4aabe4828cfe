package io.lookalike.image;

import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/**
 * Settings of the image downloader, its SSRF guard and the normaliser: the limits a catalog photo
 * and a query photo share. The fetcher's {@code FetcherConfig} includes these keys; the gateway
 * reads them for query photos.
 */
public final class ImageSafetyConfig extends AbstractConfig {

  public static final String FETCH_MAX_BYTES_CONFIG = "image.fetch.max.bytes";
  private static final String FETCH_MAX_BYTES_DOC =
      "Largest image accepted, in bytes; a download stops reading past it (too_large).";

  public static final String FETCH_TIMEOUT_MS_CONFIG = "image.fetch.timeout.ms";
  private static final String FETCH_TIMEOUT_MS_DOC =
      "Overall time allowed for one download attempt, from request to last byte.";

  public static final String FETCH_CONNECT_TIMEOUT_MS_CONFIG = "image.fetch.connect.timeout.ms";
  private static final String FETCH_CONNECT_TIMEOUT_MS_DOC =
      "Time allowed to open the connection to the image server.";

  public static final String FETCH_MAX_REDIRECTS_CONFIG = "image.fetch.max.redirects";
  private static final String FETCH_MAX_REDIRECTS_DOC =
      "Most HTTP redirects followed for one image.";

  public static final String FETCH_RETRIES_CONFIG = "image.fetch.retries";
  private static final String FETCH_RETRIES_DOC =
      "Retries after a timeout, a 5xx or a 429, with exponential back-off; other 4xx are not retried.";

  public static final String FETCH_RETRY_BACKOFF_MS_CONFIG = "image.fetch.retry.backoff.ms";
  private static final String FETCH_RETRY_BACKOFF_MS_DOC =
      "Wait before the first retry; doubled for each further one.";

  public static final String FETCH_ALLOW_FILE_CONFIG = "image.fetch.allow.file";
  private static final String FETCH_ALLOW_FILE_DOC =
      "Allow file: image URLs (the local mode and tests only; never on a shared deployment).";

  public static final String FETCH_SSRF_GUARD_CONFIG = "image.fetch.ssrf.guard";
  private static final String FETCH_SSRF_GUARD_DOC =
      "Refuse image URLs (and redirects) whose host resolves to a loopback, private, CGNAT, link-local, "
          + "multicast, unique-local or cloud-metadata address, IPv4 or IPv6 (ssrf_blocked). Turn off only in closed test setups.";

  public static final String FETCH_ALLOWED_HOSTS_CONFIG = "image.fetch.allowed.hosts";
  private static final String FETCH_ALLOWED_HOSTS_DOC =
      "Host names, IP addresses or CIDR ranges the SSRF guard lets through although "
          + "they are private, e.g. 'images.internal,10.20.0.0/16,127.0.0.1'.";

  public static final String FETCH_MAX_PER_HOST_CONFIG = "image.fetch.max.per.host";
  private static final String FETCH_MAX_PER_HOST_DOC =
      "Most downloads in flight to one host at a time, across the whole fetcher process.";

  public static final String FETCH_RETRY_AFTER_MAX_MS_CONFIG = "image.fetch.retry.after.max.ms";
  private static final String FETCH_RETRY_AFTER_MAX_MS_DOC =
      "Longest Retry-After (of a 429 or 503) honoured; a server asking for a longer wait "
          + "fails the image at once (fetch_failed).";

  public static final String MAX_PIXELS_CONFIG = "image.max.pixels";
  private static final String MAX_PIXELS_DOC =
      "Largest width x height accepted, checked from the image header before decoding (too_many_pixels): "
          + "by the fetcher, the gateway (query photos) and the embedder.";

  public static final String MAX_SIDE_PX_CONFIG = "image.normalise.max.side.px";
  private static final String MAX_SIDE_PX_DOC =
      "Longer side of the normalised JPEG, in pixels; larger photos are scaled down.";

  public static final ConfigDef CONFIG_DEF =
      new ConfigDef()
          .define(
              FETCH_MAX_BYTES_CONFIG,
              Type.LONG,
              ImageNormaliser.DEFAULT_MAX_BYTES,
              Range.atLeast(1),
              Importance.MEDIUM,
              FETCH_MAX_BYTES_DOC)
          .define(
              FETCH_TIMEOUT_MS_CONFIG,
              Type.INT,
              15_000,
              Range.atLeast(1),
              Importance.MEDIUM,
              FETCH_TIMEOUT_MS_DOC)
          .define(
              FETCH_CONNECT_TIMEOUT_MS_CONFIG,
              Type.INT,
              5_000,
              Range.atLeast(1),
              Importance.LOW,
              FETCH_CONNECT_TIMEOUT_MS_DOC)
          .define(
              FETCH_MAX_REDIRECTS_CONFIG,
              Type.INT,
              5,
              Range.between(0, 20),
              Importance.LOW,
              FETCH_MAX_REDIRECTS_DOC)
          .define(
              FETCH_RETRIES_CONFIG,
              Type.INT,
              3,
              Range.between(0, 10),
              Importance.MEDIUM,
              FETCH_RETRIES_DOC)
          .define(
              FETCH_RETRY_BACKOFF_MS_CONFIG,
              Type.INT,
              500,
              Range.atLeast(0),
              Importance.LOW,
              FETCH_RETRY_BACKOFF_MS_DOC)
          .define(
              FETCH_ALLOW_FILE_CONFIG, Type.BOOLEAN, false, Importance.MEDIUM, FETCH_ALLOW_FILE_DOC)
          .define(
              FETCH_SSRF_GUARD_CONFIG, Type.BOOLEAN, true, Importance.HIGH, FETCH_SSRF_GUARD_DOC)
          .define(
              FETCH_ALLOWED_HOSTS_CONFIG,
              Type.LIST,
              "",
              ImageSafetyConfig::validateAllowList,
              Importance.MEDIUM,
              FETCH_ALLOWED_HOSTS_DOC)
          .define(
              FETCH_MAX_PER_HOST_CONFIG,
              Type.INT,
              8,
              Range.atLeast(1),
              Importance.MEDIUM,
              FETCH_MAX_PER_HOST_DOC)
          .define(
              FETCH_RETRY_AFTER_MAX_MS_CONFIG,
              Type.INT,
              30_000,
              Range.atLeast(0),
              Importance.LOW,
              FETCH_RETRY_AFTER_MAX_MS_DOC)
          .define(
              MAX_PIXELS_CONFIG,
              Type.LONG,
              ImageNormaliser.DEFAULT_MAX_PIXELS,
              Range.atLeast(1),
              Importance.LOW,
              MAX_PIXELS_DOC)
          .define(
              MAX_SIDE_PX_CONFIG,
              Type.INT,
              ImageNormaliser.DEFAULT_MAX_SIDE_PX,
              Range.between(16, 8192),
              Importance.MEDIUM,
              MAX_SIDE_PX_DOC);

  public ImageSafetyConfig(Map<?, ?> props) {
    super(CONFIG_DEF, props, false);
  }

  static void validateAllowList(String name, Object value) {
    for (Object entry : (List<?>) value) {
      String e = entry.toString().strip();
      if (e.contains("/")) {
        try {
          UrlGuard.Cidr.parse(e);
        } catch (IllegalArgumentException ex) {
          throw new ConfigException(name, value, ex.getMessage());
        }
      }
    }
  }
}
