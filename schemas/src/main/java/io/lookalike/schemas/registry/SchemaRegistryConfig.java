package io.lookalike.schemas.registry;

import java.net.URI;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * The schema registry settings of every stage that reads or writes Avro: a Confluent-compatible
 * registry (Confluent Schema Registry, Apicurio's ccompat API, Karapace), the keys Confluent's
 * serializers use.
 */
public final class SchemaRegistryConfig extends AbstractConfig {

  public static final String URL_CONFIG = "schema.registry.url";
  private static final String URL_DOC =
      "Base URL of a Confluent-compatible schema registry (e.g. "
          + "http://registry:8081, or Apicurio's http://registry:8080/apis/ccompat/v7). Empty: no registry; records "
          + "in the Confluent wire format are then dead-lettered, and writers use Avro single-object encoding. "
          + "A registry that does not answer is retried (the record waits), never a dead letter.";
  public static final String BASIC_AUTH_USER_INFO_CONFIG = "schema.registry.basic.auth.user.info";
  private static final String BASIC_AUTH_USER_INFO_DOC =
      "user:password for HTTP basic authentication; never logged.";
  public static final String SSL_TRUSTSTORE_LOCATION_CONFIG =
      "schema.registry.ssl.truststore.location";
  private static final String SSL_TRUSTSTORE_LOCATION_DOC =
      "Trust store for an https registry with a private CA " + "(empty: the JVM's default trust).";
  public static final String SSL_TRUSTSTORE_PASSWORD_CONFIG =
      "schema.registry.ssl.truststore.password";
  private static final String SSL_TRUSTSTORE_PASSWORD_DOC = "Password of the trust store.";
  public static final String SSL_TRUSTSTORE_TYPE_CONFIG = "schema.registry.ssl.truststore.type";
  private static final String SSL_TRUSTSTORE_TYPE_DOC = "Type of the trust store: PKCS12 or JKS.";
  public static final String SUBJECT_NAME_STRATEGY_CONFIG = "value.subject.name.strategy";
  private static final String SUBJECT_NAME_STRATEGY_DOC =
      "How a value's subject is named: TopicNameStrategy "
          + "(<topic>-value, Confluent's default), RecordNameStrategy (<record full name>) or TopicRecordNameStrategy "
          + "(<topic>-<record full name>). Confluent's class names (io.confluent...TopicNameStrategy) are accepted.";
  public static final String VALUE_FORMAT_CONFIG = "value.format";
  private static final String VALUE_FORMAT_DOC =
      "How this stage writes Avro values (the webhook and load: product events; the fetcher: "
          + "product images; the embedder: embeddings): avro-single-object (C3 01 + fingerprint, no "
          + "registry needed) or confluent (00 + schema id, the schema registered under its subject at "
          + "start-up; needs schema.registry.url). Readers accept both, per record (and JSON on "
          + "catalog.product-events), whatever this says.";
  public static final String REQUEST_TIMEOUT_MS_CONFIG = "schema.registry.request.timeout.ms";
  private static final String REQUEST_TIMEOUT_MS_DOC = "Longest wait for one registry request.";

  public static final ConfigDef CONFIG_DEF = addTo(new ConfigDef());

  public SchemaRegistryConfig(Map<?, ?> props) {
    super(CONFIG_DEF, props, false);
    String url = getString(URL_CONFIG);
    if (!url.isEmpty()) {
      URI uri;
      try {
        uri = URI.create(url);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(URL_CONFIG, url, "not a URL");
      }
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
        throw new ConfigException(URL_CONFIG, url, "must be an http(s) URL");
      }
    }
    String userInfo = getPassword(BASIC_AUTH_USER_INFO_CONFIG).value();
    if (!userInfo.isEmpty() && !userInfo.contains(":")) {
      throw new ConfigException(BASIC_AUTH_USER_INFO_CONFIG, "[hidden]", "must be user:password");
    }
    if (format() == ValueFormat.CONFLUENT && url.isEmpty()) {
      throw new ConfigException(VALUE_FORMAT_CONFIG, "confluent", "needs " + URL_CONFIG);
    }
  }

  /** Adds these keys to a stage's own ConfigDef: the reader's ones, then the writer's. */
  public static ConfigDef addTo(ConfigDef def) {
    return addReaderKeysTo(def)
        .define(
            SUBJECT_NAME_STRATEGY_CONFIG,
            Type.STRING,
            SubjectNameStrategy.TOPIC.configName(),
            (name, value) -> SubjectNameStrategy.parse(name, (String) value),
            Importance.MEDIUM,
            SUBJECT_NAME_STRATEGY_DOC)
        .define(
            VALUE_FORMAT_CONFIG,
            Type.STRING,
            ValueFormat.AVRO_SINGLE_OBJECT.configName(),
            ConfigDef.ValidString.in("avro-single-object", "confluent"),
            Importance.MEDIUM,
            VALUE_FORMAT_DOC);
  }

  /**
   * Adds the keys a stage that only reads Avro needs (the registry's address, basic auth, TLS and
   * request timeout) to its own ConfigDef: the subject strategy and {@code value.format} only
   * matter to a writer.
   */
  public static ConfigDef addReaderKeysTo(ConfigDef def) {
    return def.define(URL_CONFIG, Type.STRING, "", Importance.HIGH, URL_DOC)
        .define(
            BASIC_AUTH_USER_INFO_CONFIG,
            Type.PASSWORD,
            "",
            Importance.MEDIUM,
            BASIC_AUTH_USER_INFO_DOC)
        .define(
            SSL_TRUSTSTORE_LOCATION_CONFIG,
            Type.STRING,
            "",
            Importance.LOW,
            SSL_TRUSTSTORE_LOCATION_DOC)
        .define(
            SSL_TRUSTSTORE_PASSWORD_CONFIG,
            Type.PASSWORD,
            "",
            Importance.LOW,
            SSL_TRUSTSTORE_PASSWORD_DOC)
        .define(
            SSL_TRUSTSTORE_TYPE_CONFIG,
            Type.STRING,
            "PKCS12",
            ConfigDef.ValidString.in("PKCS12", "JKS"),
            Importance.LOW,
            SSL_TRUSTSTORE_TYPE_DOC)
        .define(
            REQUEST_TIMEOUT_MS_CONFIG,
            Type.INT,
            10_000,
            ConfigDef.Range.between(100, 300_000),
            Importance.LOW,
            REQUEST_TIMEOUT_MS_DOC);
  }

  /** How writers encode Avro values. */
  public enum ValueFormat {
    AVRO_SINGLE_OBJECT("avro-single-object"),
    CONFLUENT("confluent");

    private final String configName;

    ValueFormat(String configName) {
      this.configName = configName;
    }

    public String configName() {
      return configName;
    }
  }

  public boolean enabled() {
    return !getString(URL_CONFIG).isEmpty();
  }

  public ValueFormat format() {
    return getString(VALUE_FORMAT_CONFIG).equals("confluent")
        ? ValueFormat.CONFLUENT
        : ValueFormat.AVRO_SINGLE_OBJECT;
  }

  public SubjectNameStrategy subjectNameStrategy() {
    return SubjectNameStrategy.parse(
        SUBJECT_NAME_STRATEGY_CONFIG, getString(SUBJECT_NAME_STRATEGY_CONFIG));
  }

  /** A client of the registry (one per stage: its caches serve all its serdes), or null. */
  public SchemaRegistryClient clientOrNull() {
    return enabled() ? new SchemaRegistryClient(this) : null;
  }

  public String url() {
    return getString(URL_CONFIG);
  }

  Password userInfo() {
    return getPassword(BASIC_AUTH_USER_INFO_CONFIG);
  }
}
