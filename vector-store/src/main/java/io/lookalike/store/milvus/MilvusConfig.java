package io.lookalike.store.milvus;

import io.milvus.v2.client.ConnectConfig;
import io.milvus.v2.client.RetryConfig;
import io.milvus.v2.common.ConsistencyLevel;
import io.milvus.v2.common.IndexParam;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

/**
 * Settings of the Milvus vector store: where Milvus is, the collections' layout, consistency and
 * retries.
 */
public final class MilvusConfig extends AbstractConfig {

  public static final String URI_CONFIG = "milvus.uri";
  private static final String URI_DOC =
      "Milvus endpoint, e.g. http://milvus:19530 (https:// for TLS).";
  public static final String TOKEN_CONFIG = "milvus.token";
  private static final String TOKEN_DOC =
      "Credentials: 'user:password' or an API key; empty when Milvus runs without authentication. Never logged.";
  public static final String DATABASE_CONFIG = "milvus.database";
  private static final String DATABASE_DOC = "Milvus database holding the collections.";
  public static final String COLLECTION_PREFIX_CONFIG = "milvus.collection.prefix";
  private static final String COLLECTION_PREFIX_DOC =
      "Prefix of the collection names; the collection of a model is <prefix><modelId>.";
  public static final String ALIAS_CONFIG = "milvus.alias";
  private static final String ALIAS_DOC =
      "Alias that the gateway searches; a re-embed points it at the new model's collection atomically.";
  public static final String INDEX_TYPE_CONFIG = "milvus.index.type";
  private static final String INDEX_TYPE_DOC =
      "Vector index type of new collections (HNSW, IVF_FLAT, DISKANN, "
          + "AUTOINDEX, ... as Milvus names them). The metric is always COSINE.";
  public static final String INDEX_PARAMS_CONFIG = "milvus.index.params";
  private static final String INDEX_PARAMS_DOC =
      "Build parameters of the vector index, as key=value pairs "
          + "(HNSW: M = neighbours per node, efConstruction = beam width while building).";
  public static final String SEARCH_PARAMS_CONFIG = "milvus.search.params";
  private static final String SEARCH_PARAMS_DOC =
      "Search parameters, as key=value pairs (HNSW: ef = candidates "
          + "explored; raised to k when smaller; higher = better recall, slower).";
  public static final String CONSISTENCY_LEVEL_CONFIG = "milvus.consistency.level";
  private static final String CONSISTENCY_LEVEL_DOC =
      "Consistency level of searches and reads: STRONG (sees every "
          + "write acknowledged before the request; waits for it), BOUNDED (Milvus's default: may miss writes of the "
          + "last few seconds, no wait), SESSION (sees this client's own writes), EVENTUALLY (no guarantee, fastest). "
          + "The version guard of writes always reads with STRONG.";
  public static final String SHARDS_CONFIG = "milvus.shards";
  private static final String SHARDS_DOC =
      "Shards (write channels) of new collections; more spread heavy writes.";
  public static final String WRITE_BATCH_SIZE_CONFIG = "milvus.write.batch.size";
  private static final String WRITE_BATCH_SIZE_DOC =
      "Most rows per upsert, delete or version query request (keeps gRPC messages well under 64 MiB).";
  public static final String CONNECT_TIMEOUT_MS_CONFIG = "milvus.connect.timeout.ms";
  private static final String CONNECT_TIMEOUT_MS_DOC =
      "How long to wait for the connection to Milvus.";
  public static final String RPC_DEADLINE_MS_CONFIG = "milvus.rpc.deadline.ms";
  private static final String RPC_DEADLINE_MS_DOC = "Deadline of each call to Milvus; 0 for none.";
  public static final String RETRY_MAX_ATTEMPTS_CONFIG = "milvus.retry.max.attempts";
  private static final String RETRY_MAX_ATTEMPTS_DOC =
      "Most attempts of a call that failed transiently "
          + "(UNAVAILABLE, DEADLINE_EXCEEDED, rate limited); other errors fail at once.";
  public static final String RETRY_INITIAL_BACKOFF_MS_CONFIG = "milvus.retry.initial.backoff.ms";
  private static final String RETRY_INITIAL_BACKOFF_MS_DOC =
      "Wait before the first retry; doubles each retry.";
  public static final String RETRY_MAX_BACKOFF_MS_CONFIG = "milvus.retry.max.backoff.ms";
  private static final String RETRY_MAX_BACKOFF_MS_DOC = "Longest wait between two retries.";
  public static final String RETRY_MAX_TOTAL_MS_CONFIG = "milvus.retry.max.total.ms";
  private static final String RETRY_MAX_TOTAL_MS_DOC =
      "Give up retrying a call after this long in total.";

  public static final String DEFAULT_ALIAS = "lookalike_active";

  public static final ConfigDef CONFIG_DEF =
      new ConfigDef()
          .define(
              URI_CONFIG,
              Type.STRING,
              "http://localhost:19530",
              new NonBlank(),
              Importance.HIGH,
              URI_DOC)
          .define(TOKEN_CONFIG, Type.PASSWORD, "", Importance.HIGH, TOKEN_DOC)
          .define(
              DATABASE_CONFIG,
              Type.STRING,
              "default",
              new MilvusName(),
              Importance.MEDIUM,
              DATABASE_DOC)
          .define(
              COLLECTION_PREFIX_CONFIG,
              Type.STRING,
              "lookalike_",
              new MilvusName(),
              Importance.MEDIUM,
              COLLECTION_PREFIX_DOC)
          .define(
              ALIAS_CONFIG,
              Type.STRING,
              DEFAULT_ALIAS,
              new MilvusName(),
              Importance.MEDIUM,
              ALIAS_DOC)
          .define(
              INDEX_TYPE_CONFIG,
              Type.STRING,
              "HNSW",
              new EnumName(IndexParam.IndexType.class),
              Importance.MEDIUM,
              INDEX_TYPE_DOC)
          .define(
              INDEX_PARAMS_CONFIG,
              Type.LIST,
              "M=16,efConstruction=200",
              new KeyValues(),
              Importance.MEDIUM,
              INDEX_PARAMS_DOC)
          .define(
              SEARCH_PARAMS_CONFIG,
              Type.LIST,
              "ef=64",
              new KeyValues(),
              Importance.MEDIUM,
              SEARCH_PARAMS_DOC)
          .define(
              CONSISTENCY_LEVEL_CONFIG,
              Type.STRING,
              "BOUNDED",
              new EnumName(ConsistencyLevel.class),
              Importance.MEDIUM,
              CONSISTENCY_LEVEL_DOC)
          .define(SHARDS_CONFIG, Type.INT, 1, Range.between(1, 64), Importance.LOW, SHARDS_DOC)
          .define(
              WRITE_BATCH_SIZE_CONFIG,
              Type.INT,
              500,
              Range.between(1, 16_384),
              Importance.LOW,
              WRITE_BATCH_SIZE_DOC)
          .define(
              CONNECT_TIMEOUT_MS_CONFIG,
              Type.LONG,
              10_000L,
              Range.atLeast(1),
              Importance.LOW,
              CONNECT_TIMEOUT_MS_DOC)
          .define(
              RPC_DEADLINE_MS_CONFIG,
              Type.LONG,
              30_000L,
              Range.atLeast(0),
              Importance.LOW,
              RPC_DEADLINE_MS_DOC)
          .define(
              RETRY_MAX_ATTEMPTS_CONFIG,
              Type.INT,
              10,
              Range.between(1, 1000),
              Importance.LOW,
              RETRY_MAX_ATTEMPTS_DOC)
          .define(
              RETRY_INITIAL_BACKOFF_MS_CONFIG,
              Type.LONG,
              100L,
              Range.atLeast(1),
              Importance.LOW,
              RETRY_INITIAL_BACKOFF_MS_DOC)
          .define(
              RETRY_MAX_BACKOFF_MS_CONFIG,
              Type.LONG,
              5_000L,
              Range.atLeast(1),
              Importance.LOW,
              RETRY_MAX_BACKOFF_MS_DOC)
          .define(
              RETRY_MAX_TOTAL_MS_CONFIG,
              Type.LONG,
              60_000L,
              Range.atLeast(1),
              Importance.LOW,
              RETRY_MAX_TOTAL_MS_DOC);

  public MilvusConfig(Map<?, ?> props) {
    super(CONFIG_DEF, props, false);
  }

  public String uri() {
    return getString(URI_CONFIG);
  }

  public String database() {
    return getString(DATABASE_CONFIG);
  }

  public String collectionPrefix() {
    return getString(COLLECTION_PREFIX_CONFIG);
  }

  public String alias() {
    return getString(ALIAS_CONFIG);
  }

  public IndexParam.IndexType indexType() {
    return IndexParam.IndexType.valueOf(
        getString(INDEX_TYPE_CONFIG).trim().toUpperCase(Locale.ROOT));
  }

  public Map<String, Object> indexParams() {
    return KeyValues.parse(getList(INDEX_PARAMS_CONFIG));
  }

  public Map<String, Object> searchParams() {
    return KeyValues.parse(getList(SEARCH_PARAMS_CONFIG));
  }

  public ConsistencyLevel consistencyLevel() {
    return ConsistencyLevel.valueOf(
        getString(CONSISTENCY_LEVEL_CONFIG).trim().toUpperCase(Locale.ROOT));
  }

  public int shards() {
    return getInt(SHARDS_CONFIG);
  }

  public int writeBatchSize() {
    return getInt(WRITE_BATCH_SIZE_CONFIG);
  }

  public int retryMaxAttempts() {
    return getInt(RETRY_MAX_ATTEMPTS_CONFIG);
  }

  public long retryInitialBackoffMs() {
    return getLong(RETRY_INITIAL_BACKOFF_MS_CONFIG);
  }

  public long retryMaxBackoffMs() {
    return getLong(RETRY_MAX_BACKOFF_MS_CONFIG);
  }

  public long retryMaxTotalMs() {
    return getLong(RETRY_MAX_TOTAL_MS_CONFIG);
  }

  /** The SDK's connection settings; its {@code toString()} redacts the token. */
  ConnectConfig connectConfig() {
    ConnectConfig.ConnectConfigBuilder builder =
        ConnectConfig.builder()
            .uri(uri())
            .dbName(database())
            .connectTimeoutMs(getLong(CONNECT_TIMEOUT_MS_CONFIG))
            .rpcDeadlineMs(getLong(RPC_DEADLINE_MS_CONFIG));
    Password token = getPassword(TOKEN_CONFIG);
    if (token != null && !token.value().isBlank()) {
      builder.token(token.value());
    }
    return builder.build();
  }

  /**
   * The SDK's own retry loop, which we rely on for UNAVAILABLE (and any other gRPC status it deems
   * retriable) and for Milvus's rate-limit error; it deliberately does not retry DEADLINE_EXCEEDED,
   * which {@link MilvusVectorStore} retries itself as its calls are idempotent.
   */
  RetryConfig retryConfig() {
    return RetryConfig.builder()
        .maxRetryTimes(retryMaxAttempts())
        .initialBackOffMs(retryInitialBackoffMs())
        .maxBackOffMs(retryMaxBackoffMs())
        .backOffMultiplier(2)
        .retryOnRateLimit(true)
        .maxRetryTimeoutMs(retryMaxTotalMs())
        .build();
  }

  /**
   * Letters, digits and underscores, starting with a letter or underscore: what Milvus accepts in
   * names.
   */
  static final class MilvusName implements ConfigDef.Validator {
    @Override
    public void ensureValid(String name, Object value) {
      if (value == null || !value.toString().matches("[A-Za-z_][A-Za-z0-9_]{0,254}")) {
        throw new ConfigException(
            name,
            value,
            "Milvus names hold only letters, digits and '_', and do not start " + "with a digit");
      }
    }

    @Override
    public String toString() {
      return "[A-Za-z_][A-Za-z0-9_]*";
    }
  }

  static final class NonBlank implements ConfigDef.Validator {
    @Override
    public void ensureValid(String name, Object value) {
      if (value == null || value.toString().isBlank()) {
        throw new ConfigException(name, value, "must not be empty");
      }
    }

    @Override
    public String toString() {
      return "non-empty string";
    }
  }

  /** One of the constants of an enum, case-insensitive. */
  static final class EnumName implements ConfigDef.Validator {
    private final Class<? extends Enum<?>> type;

    EnumName(Class<? extends Enum<?>> type) {
      this.type = type;
    }

    @Override
    public void ensureValid(String name, Object value) {
      String text = value == null ? "" : value.toString().trim().toUpperCase(Locale.ROOT);
      for (Enum<?> constant : type.getEnumConstants()) {
        if (constant.name().equals(text)) {
          return;
        }
      }
      throw new ConfigException(name, value, "must be one of " + this);
    }

    @Override
    public String toString() {
      return List.of(type.getEnumConstants()).toString();
    }
  }

  /** A list of key=value pairs; numbers become numbers, so that Milvus gets {"M": 16}. */
  static final class KeyValues implements ConfigDef.Validator {
    @Override
    public void ensureValid(String name, Object value) {
      try {
        parse(value == null ? List.of() : (List<?>) value);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(name, value, e.getMessage());
      }
    }

    static Map<String, Object> parse(List<?> pairs) {
      Map<String, Object> parsed = new LinkedHashMap<>();
      for (Object pair : pairs) {
        String text = pair.toString().trim();
        if (text.isEmpty()) {
          continue;
        }
        int eq = text.indexOf('=');
        if (eq <= 0 || eq == text.length() - 1) {
          throw new IllegalArgumentException("expected key=value, got '" + text + "'");
        }
        String key = text.substring(0, eq).trim();
        String raw = text.substring(eq + 1).trim();
        Object number;
        try {
          number =
              raw.contains(".") ? (Object) Double.parseDouble(raw) : (Object) Long.parseLong(raw);
        } catch (NumberFormatException e) {
          number = raw;
        }
        parsed.put(key, number);
      }
      return parsed;
    }

    @Override
    public String toString() {
      return "key=value,...";
    }
  }
}
