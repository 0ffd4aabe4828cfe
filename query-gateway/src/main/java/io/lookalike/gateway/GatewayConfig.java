package io.lookalike.gateway;

import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/** Settings of the query gateway: where it listens, upload limits, and the k of searches. */
public class GatewayConfig extends AbstractConfig {

  public static final String PORT_CONFIG = "gateway.port";
  public static final String PORT_DOC = "TCP port of the HTTP server; 0 picks a free one.";

  public static final String HOST_CONFIG = "gateway.host";
  public static final String HOST_DOC = "Address the HTTP server binds to: 127.0.0.1 for this machine only, "
      + "0.0.0.0 for every interface (containers).";

  public static final String MAX_UPLOAD_BYTES_CONFIG = "gateway.max.upload.bytes";
  public static final String MAX_UPLOAD_BYTES_DOC = "Largest query photo or request body accepted, in bytes; "
      + "larger ones get 413, checked from Content-Length and again while reading.";

  public static final String IMAGES_ALLOWED_DIR_CONFIG = "gateway.images.allowed.dir";
  public static final String IMAGES_ALLOWED_DIR_DOC = "Directory whose files GET /v1/images/{productId}/{imageId} "
      + "may serve when a product's image URL is a file: URL (the local mode's sample catalog). Empty: "
      + "file: images are never served. http(s) image URLs are redirected to whatever this is.";

  public static final String SEARCH_K_DEFAULT_CONFIG = "search.k.default";
  public static final String SEARCH_K_DEFAULT_DOC = "Number of products a search returns when the request gives no k.";

  public static final String SEARCH_K_MAX_CONFIG = "search.k.max";
  public static final String SEARCH_K_MAX_DOC = "Largest k a request may ask for; larger ones get 400.";

  public static final String BOOST_AVAILABILITY_CONFIG = "search.boost.availability";
  public static final String BOOST_AVAILABILITY_DOC = "Default availability boost, added to the score of each "
      + "product by its availability after retrieval, e.g. 'IN_STOCK:0.05,OUT_OF_STOCK:-0.1'. Empty: none. A "
      + "request's boost.availability replaces it (an empty one turns it off).";

  public static final String BOOST_ATTRIBUTE_CONFIG = "search.boost.attribute";
  public static final String BOOST_ATTRIBUTE_DOC = "Default boost by a numeric product attribute, 'name:weight' "
      + "(e.g. 'popularity:0.1'): adds weight times the attribute scaled to [0, 1] over the candidates. Empty: none.";

  public static final String BOOST_PRICE_CONFIG = "search.boost.price";
  public static final String BOOST_PRICE_DOC = "Default boost towards a target price, 'target:weight' (e.g. "
      + "'40:0.1'): adds weight times max(0, 1 - |price - target| / target). Empty: none.";

  public static final String SEARCH_IMAGE_WEIGHT_CONFIG = "search.fusion.image.weight";
  public static final String SEARCH_IMAGE_WEIGHT_DOC = "Weight of the visual ranking when a search has both a "
      + "photo and text (q), in the reciprocal-rank fusion; a request's imageWeight replaces it.";

  public static final String SEARCH_TEXT_WEIGHT_CONFIG = "search.fusion.text.weight";
  public static final String SEARCH_TEXT_WEIGHT_DOC = "Weight of the text (BM25) ranking when a search has both a "
      + "photo and text (q), in the reciprocal-rank fusion; a request's textWeight replaces it.";

  public static final String IMAGES_REDIRECT_HTTP_CONFIG = "gateway.images.redirect.http";
  public static final String IMAGES_REDIRECT_HTTP_DOC = "When true, GET /v1/images/{productId}/{imageId} answers 302 "
      + "to the catalog's own http(s) image URL (e.g. a CDN) instead of serving the bytes the pipeline holds; "
      + "thumbnails are always served from the pipeline.";

  public static final ConfigDef CONFIG_DEF = new ConfigDef()
      .define(PORT_CONFIG, Type.INT, 8080, Range.between(0, 65535), Importance.HIGH, PORT_DOC)
      .define(HOST_CONFIG, Type.STRING, "127.0.0.1", new ConfigDef.NonEmptyString(), Importance.HIGH, HOST_DOC)
      .define(MAX_UPLOAD_BYTES_CONFIG, Type.LONG, 10L * 1024 * 1024, Range.between(1, Integer.MAX_VALUE),
          Importance.MEDIUM, MAX_UPLOAD_BYTES_DOC)
      .define(IMAGES_ALLOWED_DIR_CONFIG, Type.STRING, "", Importance.LOW, IMAGES_ALLOWED_DIR_DOC)
      .define(SEARCH_K_DEFAULT_CONFIG, Type.INT, 10, Range.atLeast(1), Importance.MEDIUM, SEARCH_K_DEFAULT_DOC)
      .define(SEARCH_K_MAX_CONFIG, Type.INT, 100, Range.between(1, 1000), Importance.MEDIUM, SEARCH_K_MAX_DOC)
      .define(BOOST_AVAILABILITY_CONFIG, Type.STRING, "", boost("availability"), Importance.LOW, BOOST_AVAILABILITY_DOC)
      .define(BOOST_ATTRIBUTE_CONFIG, Type.STRING, "", boost("attribute"), Importance.LOW, BOOST_ATTRIBUTE_DOC)
      .define(BOOST_PRICE_CONFIG, Type.STRING, "", boost("price"), Importance.LOW, BOOST_PRICE_DOC)
      .define(SEARCH_IMAGE_WEIGHT_CONFIG, Type.DOUBLE, 1.0, Range.between(0, 100), Importance.LOW,
          SEARCH_IMAGE_WEIGHT_DOC)
      .define(SEARCH_TEXT_WEIGHT_CONFIG, Type.DOUBLE, 1.0, Range.between(0, 100), Importance.LOW,
          SEARCH_TEXT_WEIGHT_DOC)
      .define(IMAGES_REDIRECT_HTTP_CONFIG, Type.BOOLEAN, false, Importance.LOW, IMAGES_REDIRECT_HTTP_DOC);

  private static ConfigDef.Validator boost(String kind) {
    return (name, value) -> {
      try {
        Boosts.validate(kind, (String) value);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(name, value, e.getMessage());
      }
    };
  }

  public GatewayConfig(Map<?, ?> props) {
    super(CONFIG_DEF, props);
    int defaultK = getInt(SEARCH_K_DEFAULT_CONFIG);
    if (defaultK > getInt(SEARCH_K_MAX_CONFIG)) {
      throw new ConfigException(SEARCH_K_DEFAULT_CONFIG, defaultK,
          "must not exceed " + SEARCH_K_MAX_CONFIG + " (" + getInt(SEARCH_K_MAX_CONFIG) + ")");
    }
  }

  public int port() {
    return getInt(PORT_CONFIG);
  }

  public String host() {
    return getString(HOST_CONFIG);
  }

  public long maxUploadBytes() {
    return getLong(MAX_UPLOAD_BYTES_CONFIG);
  }

  /** The default boosts by kind (availability, attribute, price); empty texts for none. */
  public Map<String, String> defaultBoosts() {
    return Map.of("availability", getString(BOOST_AVAILABILITY_CONFIG), "attribute",
        getString(BOOST_ATTRIBUTE_CONFIG), "price", getString(BOOST_PRICE_CONFIG));
  }

  /** The directory file: images may be served from, or null when none is. */
  public java.nio.file.Path imagesAllowedDir() {
    String dir = getString(IMAGES_ALLOWED_DIR_CONFIG);
    return dir == null || dir.isBlank() ? null : java.nio.file.Path.of(dir);
  }
}
