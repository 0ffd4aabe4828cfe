package io.lookalike.schemas;

import java.util.Map;
import java.util.Objects;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;

/**
 * The topic names of the pipeline. Defaults as in DESIGN.md; every name can be overridden with the
 * keys below (in any app's or connector's properties). The keys are declared once, in {@link
 * #CONFIG_DEF}; each stage's ConfigDef includes the ones it reads with {@link
 * #configDef(String...)}.
 */
public record Topics(
    String productEvents,
    String productImages,
    String deadLetters,
    String embeddingsPrefix,
    String embeddingCachePrefix) {

  public static final String PRODUCT_EVENTS_CONFIG = "topic.product-events";
  public static final String PRODUCT_IMAGES_CONFIG = "topic.product-images";
  public static final String DEAD_LETTERS_CONFIG = "topic.dead-letters";
  public static final String EMBEDDINGS_PREFIX_CONFIG = "topic.image-embeddings.prefix";
  public static final String EMBEDDING_CACHE_PREFIX_CONFIG = "topic.embedding-cache.prefix";

  public static final String DEFAULT_PRODUCT_EVENTS = "catalog.product-events";
  public static final String DEFAULT_PRODUCT_IMAGES = "catalog.product-images";
  public static final String DEFAULT_DEAD_LETTERS = "catalog.dead-letters";
  public static final String DEFAULT_EMBEDDINGS_PREFIX = "catalog.image-embeddings.";
  public static final String DEFAULT_EMBEDDING_CACHE_PREFIX = "catalog.embedding-cache.";

  /**
   * Every topic key with its default and doc: the one declaration the stages' ConfigDefs include.
   */
  public static final ConfigDef CONFIG_DEF =
      new ConfigDef()
          .define(
              PRODUCT_EVENTS_CONFIG,
              Type.STRING,
              DEFAULT_PRODUCT_EVENTS,
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Topic of the product events (key: productId, value: ProductEvent in Avro, single-object "
                  + "or Confluent wire format, or JSON): written by the feed connector, the webhook "
                  + "and lookalike load, read by the fetcher.")
          .define(
              PRODUCT_IMAGES_CONFIG,
              Type.STRING,
              DEFAULT_PRODUCT_IMAGES,
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Compacted topic of the normalised product photos (key: productId/imageId, value: "
                  + "ProductImage in the fetcher's value.format): written by the fetcher, read by "
                  + "every model's embedder and the gateway's thumbnails.")
          .define(
              DEAD_LETTERS_CONFIG,
              Type.STRING,
              DEFAULT_DEAD_LETTERS,
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Topic of rejected events, images and embeddings, with the stage and the reason in headers.")
          .define(
              EMBEDDINGS_PREFIX_CONFIG,
              Type.STRING,
              DEFAULT_EMBEDDINGS_PREFIX,
              new ConfigDef.NonEmptyString(),
              Importance.MEDIUM,
              "Prefix of the compacted embedding topics: the vectors of a model go to this prefix "
                  + "plus its modelId (catalog.image-embeddings.<modelId>; value: ImageEmbedding in "
                  + "the embedder's value.format).")
          .define(
              EMBEDDING_CACHE_PREFIX_CONFIG,
              Type.STRING,
              DEFAULT_EMBEDDING_CACHE_PREFIX,
              new ConfigDef.NonEmptyString(),
              Importance.LOW,
              "Prefix of the compacted photo caches: a model's embedder writes each vector it "
                  + "infers to this prefix plus its modelId (catalog.embedding-cache.<modelId>, key: "
                  + "sha256 of the photo) and reads the topic back as a global store, so a photo "
                  + "shared by products or images is embedded once per model (raw float vectors, not "
                  + "Avro: no schema registry). Must not match the "
                  + "sink's topics.regex.");

  public Topics {
    Objects.requireNonNull(productEvents, PRODUCT_EVENTS_CONFIG);
    Objects.requireNonNull(productImages, PRODUCT_IMAGES_CONFIG);
    Objects.requireNonNull(deadLetters, DEAD_LETTERS_CONFIG);
    Objects.requireNonNull(embeddingsPrefix, EMBEDDINGS_PREFIX_CONFIG);
    Objects.requireNonNull(embeddingCachePrefix, EMBEDDING_CACHE_PREFIX_CONFIG);
  }

  public static Topics defaults() {
    return new Topics(
        DEFAULT_PRODUCT_EVENTS,
        DEFAULT_PRODUCT_IMAGES,
        DEFAULT_DEAD_LETTERS,
        DEFAULT_EMBEDDINGS_PREFIX,
        DEFAULT_EMBEDDING_CACHE_PREFIX);
  }

  /** Reads overrides from properties, falling back to the defaults. */
  public static Topics from(Map<?, ?> props) {
    return new Topics(
        get(props, PRODUCT_EVENTS_CONFIG, DEFAULT_PRODUCT_EVENTS),
        get(props, PRODUCT_IMAGES_CONFIG, DEFAULT_PRODUCT_IMAGES),
        get(props, DEAD_LETTERS_CONFIG, DEFAULT_DEAD_LETTERS),
        get(props, EMBEDDINGS_PREFIX_CONFIG, DEFAULT_EMBEDDINGS_PREFIX),
        get(props, EMBEDDING_CACHE_PREFIX_CONFIG, DEFAULT_EMBEDDING_CACHE_PREFIX));
  }

  /**
   * A new ConfigDef holding the given topic keys, as declared in {@link #CONFIG_DEF}; a stage adds
   * its own keys to it.
   */
  public static ConfigDef configDef(String... keys) {
    return include(new ConfigDef(), keys);
  }

  /** Adds the given topic keys, as declared in {@link #CONFIG_DEF}, to {@code def}; returns it. */
  public static ConfigDef include(ConfigDef def, String... keys) {
    for (String key : keys) {
      ConfigDef.ConfigKey declared = CONFIG_DEF.configKeys().get(key);
      if (declared == null) {
        throw new IllegalArgumentException("Not a topic key: " + key);
      }
      def.define(declared);
    }
    return def;
  }

  /** The compacted topic holding the vectors of one model. */
  public String embeddings(String modelId) {
    return embeddingsPrefix + modelId;
  }

  /**
   * The compacted topic holding one model's vectors by photo (key: sha256; value: the vector as
   * big-endian 4-byte floats): the embedder's cache, read back as a global store.
   */
  public String embeddingCache(String modelId) {
    return embeddingCachePrefix + modelId;
  }

  private static String get(Map<?, ?> props, String key, String fallback) {
    Object value = props.get(key);
    return value == null || value.toString().isBlank() ? fallback : value.toString().trim();
  }
}
