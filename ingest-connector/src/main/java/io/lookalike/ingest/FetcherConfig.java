package io.lookalike.ingest;

import io.lookalike.image.ImageSafetyConfig;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

/**
 * Settings of the image fetcher: the downloader's and the normaliser's ({@link ImageSafetyConfig}),
 * its concurrency and its topics (Kafka Streams settings go alongside).
 */
public final class FetcherConfig extends AbstractConfig {

  public static final String FETCH_MAX_BYTES_CONFIG = ImageSafetyConfig.FETCH_MAX_BYTES_CONFIG;
  public static final String FETCH_TIMEOUT_MS_CONFIG = ImageSafetyConfig.FETCH_TIMEOUT_MS_CONFIG;
  public static final String FETCH_CONNECT_TIMEOUT_MS_CONFIG =
      ImageSafetyConfig.FETCH_CONNECT_TIMEOUT_MS_CONFIG;
  public static final String FETCH_MAX_REDIRECTS_CONFIG =
      ImageSafetyConfig.FETCH_MAX_REDIRECTS_CONFIG;
  public static final String FETCH_RETRIES_CONFIG = ImageSafetyConfig.FETCH_RETRIES_CONFIG;
  public static final String FETCH_RETRY_BACKOFF_MS_CONFIG =
      ImageSafetyConfig.FETCH_RETRY_BACKOFF_MS_CONFIG;
  public static final String FETCH_ALLOW_FILE_CONFIG = ImageSafetyConfig.FETCH_ALLOW_FILE_CONFIG;
  public static final String FETCH_SSRF_GUARD_CONFIG = ImageSafetyConfig.FETCH_SSRF_GUARD_CONFIG;
  public static final String FETCH_ALLOWED_HOSTS_CONFIG =
      ImageSafetyConfig.FETCH_ALLOWED_HOSTS_CONFIG;
  public static final String FETCH_MAX_PER_HOST_CONFIG =
      ImageSafetyConfig.FETCH_MAX_PER_HOST_CONFIG;
  public static final String FETCH_RETRY_AFTER_MAX_MS_CONFIG =
      ImageSafetyConfig.FETCH_RETRY_AFTER_MAX_MS_CONFIG;

  public static final String FETCH_CONCURRENCY_CONFIG = "image.fetch.concurrency";
  private static final String FETCH_CONCURRENCY_DOC =
      "Threads downloading and normalising images, shared by all stream tasks: the most "
          + "images in flight at once.";

  public static final String FETCH_PIPELINE_MAX_EVENTS_CONFIG = "image.fetch.pipeline.max.events";
  private static final String FETCH_PIPELINE_MAX_EVENTS_DOC =
      "Most product events per stream task whose images are being fetched at once; "
          + "results are applied in arrival order, so ordering per product and image key is kept. 1 processes one event at a time.";

  public static final String MAX_PIXELS_CONFIG = ImageSafetyConfig.MAX_PIXELS_CONFIG;
  public static final String MAX_SIDE_PX_CONFIG = ImageSafetyConfig.MAX_SIDE_PX_CONFIG;

  /**
   * With the schema registry keys of {@link SchemaRegistryConfig}: product events are read in any
   * encoding, product images written in {@code value.format}.
   */
  public static final ConfigDef CONFIG_DEF =
      Topics.include(
              SchemaRegistryConfig.addTo(new ConfigDef(ImageSafetyConfig.CONFIG_DEF)),
              Topics.PRODUCT_EVENTS_CONFIG,
              Topics.PRODUCT_IMAGES_CONFIG,
              Topics.DEAD_LETTERS_CONFIG)
          .define(
              FETCH_CONCURRENCY_CONFIG,
              Type.INT,
              32,
              Range.between(1, 1024),
              Importance.MEDIUM,
              FETCH_CONCURRENCY_DOC)
          .define(
              FETCH_PIPELINE_MAX_EVENTS_CONFIG,
              Type.INT,
              64,
              Range.between(1, 10_000),
              Importance.LOW,
              FETCH_PIPELINE_MAX_EVENTS_DOC);

  public FetcherConfig(Map<?, ?> props) {
    super(CONFIG_DEF, props, false);
  }

  /** The schema registry settings (a wrong one fails here, naming the key). */
  public SchemaRegistryConfig schemaRegistryConfig() {
    return new SchemaRegistryConfig(originals());
  }

  /** The registry client, or null when {@code schema.registry.url} is not set. */
  public SchemaRegistryClient schemaRegistry() {
    return schemaRegistryConfig().clientOrNull();
  }

  public Topics topics() {
    return Topics.from(originals());
  }
}
