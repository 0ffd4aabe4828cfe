package io.lookalike.ingest.webhook;

import io.lookalike.ingest.FetcherConfig;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import java.util.Map;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/** Settings of the webhook receiver ({@code producer.}-prefixed keys go to its Kafka producer). */
public final class WebhookConfig extends AbstractConfig {

  public static final String BOOTSTRAP_SERVERS_CONFIG =
      CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG;
  private static final String BOOTSTRAP_SERVERS_DOC = "Kafka brokers the events are produced to.";

  public static final String AUTH_CONFIG = "webhook.auth";
  private static final String AUTH_DOC =
      "How callers prove they may write to the catalog: 'bearer' (header "
          + "'Authorization: Bearer <webhook.secret>'), 'hmac' (header webhook.signature.header = 'sha256=' + hex "
          + "HMAC-SHA256 of the raw body keyed with webhook.secret), or 'none' (local mode and tests only).";

  public static final String SECRET_CONFIG = "webhook.secret";
  private static final String SECRET_DOC =
      "The shared secret of webhook.auth (required unless it is 'none'); never logged.";

  public static final String SIGNATURE_HEADER_CONFIG = "webhook.signature.header";
  private static final String SIGNATURE_HEADER_DOC =
      "Header carrying the HMAC signature when webhook.auth=hmac.";

  public static final String MAX_BODY_BYTES_CONFIG = "webhook.max.body.bytes";
  private static final String MAX_BODY_BYTES_DOC = "Largest request body accepted (413 beyond).";

  public static final String MAX_BATCH_EVENTS_CONFIG = "webhook.max.batch.events";
  private static final String MAX_BATCH_EVENTS_DOC = "Most events in one request (a JSON array).";

  public static final String DEDUP_MAX_ENTRIES_CONFIG = "webhook.dedup.max.entries";
  private static final String DEDUP_MAX_ENTRIES_DOC =
      "How many acknowledged eventIds are remembered (least recently "
          + "acknowledged forgotten first), so that a retried delivery is not produced twice.";

  public static final String DEDUP_WINDOW_MS_CONFIG = "webhook.dedup.window.ms";
  private static final String DEDUP_WINDOW_MS_DOC =
      "How long an acknowledged eventId is remembered. Beyond it (or after "
          + "a restart) a redelivery is produced again and the fetcher drops it as a same-or-older version.";

  public static final String ACK_TIMEOUT_MS_CONFIG = "webhook.ack.timeout.ms";
  private static final String ACK_TIMEOUT_MS_DOC =
      "Longest wait for the brokers to acknowledge (acks=all) a request's "
          + "events; past it the answer is 503 and the caller retries.";

  public static final String HOST_CONFIG = "webhook.host";
  private static final String HOST_DOC = "Interface the standalone webhook server listens on.";

  public static final String PORT_CONFIG = "webhook.port";
  private static final String PORT_DOC =
      "Port of the standalone webhook server (0: any free port).";

  public static final String TOPIC_CONFIG = Topics.PRODUCT_EVENTS_CONFIG;

  /** The fetcher's key: one file: URL rule for every way in (docs/producing.md). */
  public static final String ALLOW_FILE_URLS_CONFIG = FetcherConfig.FETCH_ALLOW_FILE_CONFIG;

  private static final String ALLOW_FILE_URLS_DOC =
      "Whether events may name file: image URLs. The same key as the "
          + "fetcher's, which is the one that reads them: set both or neither (the local mode sets both). When false, "
          + "an event with a file: URL is answered 400.";

  /**
   * With the schema registry keys ({@code value.format=confluent} writes the Confluent wire
   * format).
   */
  public static final ConfigDef CONFIG_DEF =
      Topics.include(SchemaRegistryConfig.addTo(new ConfigDef()), TOPIC_CONFIG)
          .define(
              BOOTSTRAP_SERVERS_CONFIG,
              Type.LIST,
              ConfigDef.NO_DEFAULT_VALUE,
              Importance.HIGH,
              BOOTSTRAP_SERVERS_DOC)
          .define(
              AUTH_CONFIG,
              Type.STRING,
              "bearer",
              ConfigDef.ValidString.in("bearer", "hmac", "none"),
              Importance.HIGH,
              AUTH_DOC)
          .define(SECRET_CONFIG, Type.PASSWORD, "", Importance.HIGH, SECRET_DOC)
          .define(
              SIGNATURE_HEADER_CONFIG,
              Type.STRING,
              "X-Lookalike-Signature",
              new ConfigDef.NonEmptyString(),
              Importance.LOW,
              SIGNATURE_HEADER_DOC)
          .define(
              MAX_BODY_BYTES_CONFIG,
              Type.INT,
              10 << 20,
              Range.atLeast(1),
              Importance.LOW,
              MAX_BODY_BYTES_DOC)
          .define(
              MAX_BATCH_EVENTS_CONFIG,
              Type.INT,
              1000,
              Range.between(1, 100_000),
              Importance.LOW,
              MAX_BATCH_EVENTS_DOC)
          .define(
              DEDUP_MAX_ENTRIES_CONFIG,
              Type.INT,
              100_000,
              Range.atLeast(0),
              Importance.LOW,
              DEDUP_MAX_ENTRIES_DOC)
          .define(
              DEDUP_WINDOW_MS_CONFIG,
              Type.LONG,
              24L * 3600 * 1000,
              Range.atLeast(0),
              Importance.LOW,
              DEDUP_WINDOW_MS_DOC)
          .define(
              ACK_TIMEOUT_MS_CONFIG,
              Type.INT,
              10_000,
              Range.between(2_000, 600_000),
              Importance.MEDIUM,
              ACK_TIMEOUT_MS_DOC)
          .define(HOST_CONFIG, Type.STRING, "0.0.0.0", Importance.LOW, HOST_DOC)
          .define(PORT_CONFIG, Type.INT, 8081, Range.between(0, 65535), Importance.LOW, PORT_DOC)
          .define(ALLOW_FILE_URLS_CONFIG, Type.BOOLEAN, false, Importance.LOW, ALLOW_FILE_URLS_DOC);

  public WebhookConfig(Map<?, ?> props) {
    super(CONFIG_DEF, props);
    new SchemaRegistryConfig(originals()); // a wrong registry setting fails here, naming the key
    if (getList(BOOTSTRAP_SERVERS_CONFIG).isEmpty()) {
      throw new ConfigException(BOOTSTRAP_SERVERS_CONFIG, "", "at least one broker is required");
    }
    if (!auth().equals("none") && secret().isEmpty()) {
      throw new ConfigException(
          SECRET_CONFIG, "[hidden]", "required when " + AUTH_CONFIG + " is " + auth());
    }
  }

  public String auth() {
    return getString(AUTH_CONFIG);
  }

  String secret() {
    Password secret = getPassword(SECRET_CONFIG);
    return secret == null ? "" : secret.value();
  }
}
