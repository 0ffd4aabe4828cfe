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

  public static final String ADMIN_ALLOW_REMOTE_CONFIG = "gateway.admin.allow.remote";
  public static final String ADMIN_ALLOW_REMOTE_DOC = "Let the local mode's model admin API (/v1/admin/models...) answer "
      + "clients on other machines too; false: it answers loopback clients only (403 otherwise).";

  public static final String ALIAS_REFRESH_MS_CONFIG = "gateway.alias.refresh.ms";
  public static final String ALIAS_REFRESH_MS_DOC = "With --store milvus: how often the gateway checks which collection "
      + "milvus.alias points at; when it moved, the gateway loads that collection's model and switches to it.";

  public static final ConfigDef CONFIG_DEF = new ConfigDef()
      .define(PORT_CONFIG, Type.INT, 8080, Range.between(0, 65535), Importance.HIGH, PORT_DOC)
      .define(HOST_CONFIG, Type.STRING, "127.0.0.1", new ConfigDef.NonEmptyString(), Importance.HIGH, HOST_DOC)
      .define(MAX_UPLOAD_BYTES_CONFIG, Type.LONG, 10L * 1024 * 1024, Range.between(1, Integer.MAX_VALUE),
          Importance.MEDIUM, MAX_UPLOAD_BYTES_DOC)
      .define(IMAGES_ALLOWED_DIR_CONFIG, Type.STRING, "", Importance.LOW, IMAGES_ALLOWED_DIR_DOC)
      .define(SEARCH_K_DEFAULT_CONFIG, Type.INT, 10, Range.atLeast(1), Importance.MEDIUM, SEARCH_K_DEFAULT_DOC)
      .define(SEARCH_K_MAX_CONFIG, Type.INT, 100, Range.between(1, 1000), Importance.MEDIUM, SEARCH_K_MAX_DOC)
      .define(ADMIN_ALLOW_REMOTE_CONFIG, Type.BOOLEAN, false, Importance.MEDIUM, ADMIN_ALLOW_REMOTE_DOC)
      .define(ALIAS_REFRESH_MS_CONFIG, Type.LONG, 2000L, Range.between(50, 3_600_000), Importance.LOW,
          ALIAS_REFRESH_MS_DOC);

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

  public boolean adminAllowRemote() {
    return getBoolean(ADMIN_ALLOW_REMOTE_CONFIG);
  }

  public long aliasRefreshMs() {
    return getLong(ALIAS_REFRESH_MS_CONFIG);
  }

  /** The directory file: images may be served from, or null when none is. */
  public java.nio.file.Path imagesAllowedDir() {
    String dir = getString(IMAGES_ALLOWED_DIR_CONFIG);
    return dir == null || dir.isBlank() ? null : java.nio.file.Path.of(dir);
  }
}
