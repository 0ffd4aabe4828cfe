package io.lookalike.schemas;

import java.util.Map;
import java.util.Objects;

/**
 * The topic names of the pipeline. Defaults as in DESIGN.md; every name can be overridden with the
 * keys below (in any app's or connector's properties).
 */
public record Topics(String productEvents, String productImages, String deadLetters, String embeddingsPrefix) {

  public static final String PRODUCT_EVENTS_CONFIG = "topic.product-events";
  public static final String PRODUCT_IMAGES_CONFIG = "topic.product-images";
  public static final String DEAD_LETTERS_CONFIG = "topic.dead-letters";
  public static final String EMBEDDINGS_PREFIX_CONFIG = "topic.image-embeddings.prefix";

  public static final String DEFAULT_PRODUCT_EVENTS = "catalog.product-events";
  public static final String DEFAULT_PRODUCT_IMAGES = "catalog.product-images";
  public static final String DEFAULT_DEAD_LETTERS = "catalog.dead-letters";
  public static final String DEFAULT_EMBEDDINGS_PREFIX = "catalog.image-embeddings.";

  public Topics {
    Objects.requireNonNull(productEvents, PRODUCT_EVENTS_CONFIG);
    Objects.requireNonNull(productImages, PRODUCT_IMAGES_CONFIG);
    Objects.requireNonNull(deadLetters, DEAD_LETTERS_CONFIG);
    Objects.requireNonNull(embeddingsPrefix, EMBEDDINGS_PREFIX_CONFIG);
  }

  public static Topics defaults() {
    return new Topics(DEFAULT_PRODUCT_EVENTS, DEFAULT_PRODUCT_IMAGES, DEFAULT_DEAD_LETTERS, DEFAULT_EMBEDDINGS_PREFIX);
  }

  /** Reads overrides from properties, falling back to the defaults. */
  public static Topics from(Map<?, ?> props) {
    return new Topics(
        get(props, PRODUCT_EVENTS_CONFIG, DEFAULT_PRODUCT_EVENTS),
        get(props, PRODUCT_IMAGES_CONFIG, DEFAULT_PRODUCT_IMAGES),
        get(props, DEAD_LETTERS_CONFIG, DEFAULT_DEAD_LETTERS),
        get(props, EMBEDDINGS_PREFIX_CONFIG, DEFAULT_EMBEDDINGS_PREFIX));
  }

  /** The compacted topic holding the vectors of one model. */
  public String embeddings(String modelId) {
    return embeddingsPrefix + modelId;
  }

  private static String get(Map<?, ?> props, String key, String fallback) {
    Object value = props.get(key);
    return value == null || value.toString().isBlank() ? fallback : value.toString().trim();
  }
}
