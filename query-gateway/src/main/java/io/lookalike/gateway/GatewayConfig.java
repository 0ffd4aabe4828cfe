package io.lookalike.gateway;

import io.lookalike.schemas.registry.SchemaRegistryConfig;
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
  public static final String HOST_DOC =
      "Address the HTTP server binds to: 127.0.0.1 for this machine only, "
          + "0.0.0.0 for every interface (containers).";

  public static final String MAX_UPLOAD_BYTES_CONFIG = "gateway.max.upload.bytes";
  public static final String MAX_UPLOAD_BYTES_DOC =
      "Largest query photo or request body accepted, in bytes; "
          + "larger ones get 413, checked from Content-Length and again while reading.";

  public static final String IMAGES_ALLOWED_DIR_CONFIG = "gateway.images.allowed.dir";
  public static final String IMAGES_ALLOWED_DIR_DOC =
      "Directory whose files GET /v1/images/{productId}/{imageId} "
          + "may serve when a product's image URL is a file: URL (the local mode's sample catalog). Empty: "
          + "file: images are never served. http(s) image URLs are redirected to whatever this is.";

  public static final String SEARCH_K_DEFAULT_CONFIG = "search.k.default";
  public static final String SEARCH_K_DEFAULT_DOC =
      "Number of products a search returns when the request gives no k.";

  public static final String SEARCH_K_MAX_CONFIG = "search.k.max";
  public static final String SEARCH_K_MAX_DOC =
      "Largest k a request may ask for; larger ones get 400.";

  public static final String ADMIN_ALLOW_REMOTE_CONFIG = "gateway.admin.allow.remote";
  public static final String ADMIN_ALLOW_REMOTE_DOC =
      "Let the local mode's model admin API (/v1/admin/models...) answer "
          + "clients on other machines too; false: it answers loopback clients only (403 otherwise).";

  public static final String ALIAS_REFRESH_MS_CONFIG = "gateway.alias.refresh.ms";
  public static final String ALIAS_REFRESH_MS_DOC =
      "With --store milvus: how often the gateway checks which collection "
          + "milvus.alias points at; when it moved, the gateway loads that collection's model and switches to it.";
  public static final String ALLOWED_HOSTS_CONFIG = "gateway.allowed.hosts";
  public static final String ALLOWED_HOSTS_DOC =
      "Host names (no port) that admin calls may carry in their Host header, "
          + "besides localhost, 127.0.0.1, [::1] and "
          + HOST_CONFIG
          + ": a call for any other name is refused with 421 "
          + "(a DNS-rebinding page's). Add the names a reverse proxy forwards, e.g. admin.shop.internal.";

  public static final String ADMIN_SECRET_CONFIG = "gateway.admin.secret";
  public static final String ADMIN_SECRET_DOC =
      "The bearer secret every admin call must send (Authorization: Bearer ...). "
          + "Empty: the local mode generates one into <data-dir>/admin.secret (owner-only) on first start.";

  public static final String ADMIN_CHECK_MAX_SAMPLE_CONFIG = "gateway.admin.check.max.sample";
  public static final String ADMIN_CHECK_MAX_SAMPLE_DOC =
      "Largest sample the quality check of a model may be asked "
          + "for (POST /v1/admin/models/{id}/check?sample=N); larger ones get 400.";

  public static final String ADMIN_CHECK_BUDGET_MS_CONFIG = "gateway.admin.check.budget.ms";
  public static final String ADMIN_CHECK_BUDGET_MS_DOC =
      "Longest a quality check may run; then it is cancelled and "
          + "answered 503 check_timeout. It is also cancelled when its client disconnects.";

  public static final String CONSISTENCY_MAX_WAIT_MS_CONFIG = "gateway.consistency.max.wait.ms";
  public static final String CONSISTENCY_MAX_WAIT_MS_DOC =
      "Longest a search with consistentWith=<token> waits for the token's changes to be searchable;"
          + " then it is answered 504 not_yet_searchable.";

  public static final String FETCH_BUDGET_MS_CONFIG = "gateway.fetch.budget.ms";
  public static final String FETCH_BUDGET_MS_DOC =
      "Longest the download of a search's image URL may take, retries "
          + "included; then the search fails with 400 fetch_timeout.";
  public static final String BOOST_AVAILABILITY_CONFIG = "search.boost.availability";
  public static final String BOOST_AVAILABILITY_DOC =
      "Default availability boost, added to the score of each "
          + "product by its availability after retrieval, e.g. 'IN_STOCK:0.05,OUT_OF_STOCK:-0.1'. Empty: none. A "
          + "request's boost.availability replaces it (an empty one turns it off).";

  public static final String BOOST_ATTRIBUTE_CONFIG = "search.boost.attribute";
  public static final String BOOST_ATTRIBUTE_DOC =
      "Default boost by a numeric product attribute, 'name:weight' "
          + "(e.g. 'popularity:0.1'): adds weight times the attribute scaled to [0, 1] over the candidates. Empty: none.";

  public static final String BOOST_PRICE_CONFIG = "search.boost.price";
  public static final String BOOST_PRICE_DOC =
      "Default boost towards a target price, 'target:weight' (e.g. "
          + "'40:0.1'): adds weight times max(0, 1 - |price - target| / target). Empty: none.";

  public static final String SEARCH_IMAGE_WEIGHT_CONFIG = "search.fusion.image.weight";
  public static final String SEARCH_IMAGE_WEIGHT_DOC =
      "Weight of the visual ranking when a search has both a "
          + "photo and text (q), in the reciprocal-rank fusion; a request's imageWeight replaces it.";

  public static final String SEARCH_TEXT_WEIGHT_CONFIG = "search.fusion.text.weight";
  public static final String SEARCH_TEXT_WEIGHT_DOC =
      "Weight of the text (BM25) ranking when a search has both a "
          + "photo and text (q), in the reciprocal-rank fusion; a request's textWeight replaces it.";

  public static final String IMAGES_REDIRECT_HTTP_CONFIG = "gateway.images.redirect.http";
  public static final String IMAGES_REDIRECT_HTTP_DOC =
      "When true, GET /v1/images/{productId}/{imageId} answers 302 "
          + "to the catalog's own http(s) image URL (e.g. a CDN) instead of serving the bytes the pipeline holds; "
          + "thumbnails are always served from the pipeline.";

  public static final String EMBED_BATCH_MAX_SIZE_CONFIG = "gateway.embed.batch.max.size";
  private static final String EMBED_BATCH_MAX_SIZE_DOC =
      "The most query photos embedded together in one batched call: concurrent photo searches "
          + "share a forward pass. 1 turns batching off (each search embeds its photo alone, in its "
          + "own thread).";

  public static final String EMBED_BATCH_MAX_WAIT_MS_CONFIG = "gateway.embed.batch.max.wait.ms";
  private static final String EMBED_BATCH_MAX_WAIT_MS_DOC =
      "How long a batch of query photos waits for more after its first, in milliseconds; a "
          + "lone search pays at most this much extra.";

  public static final String EMBED_QUEUE_MAX_CONFIG = "gateway.embed.queue.max";
  private static final String EMBED_QUEUE_MAX_DOC =
      "Query photos that may wait to be embedded at once; more are answered 503 embed_busy.";

  public static final String SHADOW_SHARE_CONFIG = "gateway.shadow.share";
  public static final String SHADOW_SHARE_DOC =
      "Share of live searches (0..1) also run against each candidate model (registered, not active,"
          + " not refused: catching up or waiting for the switch), off the request's path, to measure"
          + " its agreement with the live answers (GET /v1/models, lookalike.shadow.* metrics,"
          + " lookalike reembed --shadow-min-*). 0 turns shadow traffic off. A photo search is"
          + " embedded again with the candidate's model: each mirrored photo costs one inference per"
          + " candidate.";

  public static final String SHADOW_THREADS_CONFIG = "gateway.shadow.threads";
  public static final String SHADOW_THREADS_DOC =
      "Threads that run shadow searches against candidate models (their own pool, never the"
          + " request's thread).";

  public static final String SHADOW_QUEUE_MAX_CONFIG = "gateway.shadow.queue.max";
  public static final String SHADOW_QUEUE_MAX_DOC =
      "Shadow searches that may wait for a shadow thread; when the queue is full a shadow search is"
          + " dropped and counted (lookalike.shadow.searches{outcome=dropped}), the live search is"
          + " never slowed.";

  /**
   * With the reader's schema registry keys of {@link SchemaRegistryConfig}: the thumbnail feeder
   * and the admin API's quality check read Confluent-framed product images through the registry.
   */
  public static final ConfigDef CONFIG_DEF =
      SchemaRegistryConfig.addReaderKeysTo(new ConfigDef())
          .define(PORT_CONFIG, Type.INT, 8080, Range.between(0, 65535), Importance.HIGH, PORT_DOC)
          .define(
              HOST_CONFIG,
              Type.STRING,
              "127.0.0.1",
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              HOST_DOC)
          .define(
              MAX_UPLOAD_BYTES_CONFIG,
              Type.LONG,
              10L * 1024 * 1024,
              Range.between(1, Integer.MAX_VALUE),
              Importance.MEDIUM,
              MAX_UPLOAD_BYTES_DOC)
          .define(
              IMAGES_ALLOWED_DIR_CONFIG, Type.STRING, "", Importance.LOW, IMAGES_ALLOWED_DIR_DOC)
          .define(
              SEARCH_K_DEFAULT_CONFIG,
              Type.INT,
              10,
              Range.atLeast(1),
              Importance.MEDIUM,
              SEARCH_K_DEFAULT_DOC)
          .define(
              SEARCH_K_MAX_CONFIG,
              Type.INT,
              100,
              Range.between(1, 1000),
              Importance.MEDIUM,
              SEARCH_K_MAX_DOC)
          .define(
              ADMIN_ALLOW_REMOTE_CONFIG,
              Type.BOOLEAN,
              false,
              Importance.MEDIUM,
              ADMIN_ALLOW_REMOTE_DOC)
          .define(
              ALIAS_REFRESH_MS_CONFIG,
              Type.LONG,
              2000L,
              Range.between(50, 3_600_000),
              Importance.LOW,
              ALIAS_REFRESH_MS_DOC)
          .define(ALLOWED_HOSTS_CONFIG, Type.LIST, "", Importance.MEDIUM, ALLOWED_HOSTS_DOC)
          .define(ADMIN_SECRET_CONFIG, Type.PASSWORD, "", Importance.HIGH, ADMIN_SECRET_DOC)
          .define(
              ADMIN_CHECK_MAX_SAMPLE_CONFIG,
              Type.INT,
              1000,
              Range.between(1, 10_000),
              Importance.LOW,
              ADMIN_CHECK_MAX_SAMPLE_DOC)
          .define(
              ADMIN_CHECK_BUDGET_MS_CONFIG,
              Type.LONG,
              300_000L,
              Range.atLeast(1),
              Importance.LOW,
              ADMIN_CHECK_BUDGET_MS_DOC)
          .define(
              CONSISTENCY_MAX_WAIT_MS_CONFIG,
              Type.LONG,
              10_000L,
              Range.between(0, 120_000),
              Importance.LOW,
              CONSISTENCY_MAX_WAIT_MS_DOC)
          .define(
              FETCH_BUDGET_MS_CONFIG,
              Type.LONG,
              5_000L,
              Range.between(1, 600_000),
              Importance.MEDIUM,
              FETCH_BUDGET_MS_DOC)
          .define(
              BOOST_AVAILABILITY_CONFIG,
              Type.STRING,
              "",
              boost("availability"),
              Importance.LOW,
              BOOST_AVAILABILITY_DOC)
          .define(
              BOOST_ATTRIBUTE_CONFIG,
              Type.STRING,
              "",
              boost("attribute"),
              Importance.LOW,
              BOOST_ATTRIBUTE_DOC)
          .define(
              BOOST_PRICE_CONFIG, Type.STRING, "", boost("price"), Importance.LOW, BOOST_PRICE_DOC)
          .define(
              SEARCH_IMAGE_WEIGHT_CONFIG,
              Type.DOUBLE,
              1.0,
              Range.between(0, 100),
              Importance.LOW,
              SEARCH_IMAGE_WEIGHT_DOC)
          .define(
              SEARCH_TEXT_WEIGHT_CONFIG,
              Type.DOUBLE,
              1.0,
              Range.between(0, 100),
              Importance.LOW,
              SEARCH_TEXT_WEIGHT_DOC)
          .define(
              IMAGES_REDIRECT_HTTP_CONFIG,
              Type.BOOLEAN,
              false,
              Importance.LOW,
              IMAGES_REDIRECT_HTTP_DOC)
          .define(
              EMBED_BATCH_MAX_SIZE_CONFIG,
              Type.INT,
              8,
              Range.between(1, 256),
              Importance.MEDIUM,
              EMBED_BATCH_MAX_SIZE_DOC)
          .define(
              EMBED_BATCH_MAX_WAIT_MS_CONFIG,
              Type.LONG,
              2L,
              Range.between(0, 1000),
              Importance.LOW,
              EMBED_BATCH_MAX_WAIT_MS_DOC)
          .define(
              EMBED_QUEUE_MAX_CONFIG,
              Type.INT,
              64,
              Range.between(1, 100_000),
              Importance.LOW,
              EMBED_QUEUE_MAX_DOC)
          .define(
              SHADOW_SHARE_CONFIG, Type.DOUBLE, 0.1, share(), Importance.MEDIUM, SHADOW_SHARE_DOC)
          .define(
              SHADOW_THREADS_CONFIG,
              Type.INT,
              1,
              Range.between(1, 64),
              Importance.LOW,
              SHADOW_THREADS_DOC)
          .define(
              SHADOW_QUEUE_MAX_CONFIG,
              Type.INT,
              16,
              Range.between(1, 10_000),
              Importance.LOW,
              SHADOW_QUEUE_MAX_DOC);

  /** A share in [0, 1] (a plain Range lets NaN through). */
  private static ConfigDef.Validator share() {
    return new ConfigDef.Validator() {
      @Override
      public void ensureValid(String name, Object value) {
        double share = value == null ? Double.NaN : ((Number) value).doubleValue();
        if (!(share >= 0 && share <= 1)) {
          throw new ConfigException(name, value, "must be a share between 0 and 1");
        }
      }

      @Override
      public String toString() {
        return "[0,...,1]";
      }
    };
  }

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
    new SchemaRegistryConfig(originals()); // a wrong registry URL or basic auth fails at start-up
    int defaultK = getInt(SEARCH_K_DEFAULT_CONFIG);
    if (defaultK > getInt(SEARCH_K_MAX_CONFIG)) {
      throw new ConfigException(
          SEARCH_K_DEFAULT_CONFIG,
          defaultK,
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

  public boolean adminAllowRemote() {
    return getBoolean(ADMIN_ALLOW_REMOTE_CONFIG);
  }

  public long aliasRefreshMs() {
    return getLong(ALIAS_REFRESH_MS_CONFIG);
  }

  /**
   * The names admin calls may carry in Host: {@link #ALLOWED_HOSTS_CONFIG} and the bind address.
   */
  public java.util.List<String> allowedHosts() {
    java.util.List<String> hosts = new java.util.ArrayList<>(getList(ALLOWED_HOSTS_CONFIG));
    hosts.add(host());
    return hosts;
  }

  /** The configured admin secret, or empty. */
  public String adminSecret() {
    org.apache.kafka.common.config.types.Password secret = getPassword(ADMIN_SECRET_CONFIG);
    return secret == null ? "" : secret.value().strip();
  }

  public long fetchBudgetMs() {
    return getLong(FETCH_BUDGET_MS_CONFIG);
  }

  /** The default boosts by kind (availability, attribute, price); empty texts for none. */
  public Map<String, String> defaultBoosts() {
    return Map.of(
        "availability",
        getString(BOOST_AVAILABILITY_CONFIG),
        "attribute",
        getString(BOOST_ATTRIBUTE_CONFIG),
        "price",
        getString(BOOST_PRICE_CONFIG));
  }

  /** The directory file: images may be served from, or null when none is. */
  public java.nio.file.Path imagesAllowedDir() {
    String dir = getString(IMAGES_ALLOWED_DIR_CONFIG);
    return dir == null || dir.isBlank() ? null : java.nio.file.Path.of(dir);
  }
}
