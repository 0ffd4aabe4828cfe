package io.lookalike.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.avro.Schema;

/**
 * A small client of the Confluent Schema Registry REST API (also served by Apicurio's {@code
 * ccompat} API and Karapace): register a schema under a subject, fetch a schema by id, test
 * compatibility, set a subject's compatibility level. Ids and schemas are cached: they never change
 * once assigned. Thread-safe.
 *
 * <p>Why our own and not a library's: Confluent's {@code kafka-schema-registry-client} is not on
 * Maven Central, and Apicurio's (2.4.2.Final: {@code apicurio-registry-client} and the serdes on
 * it) speak Apicurio's own {@code apis/registry/v2} API, not the Confluent one that Confluent
 * Schema Registry, Karapace and Apicurio's {@code ccompat} all serve; the four calls we need fit in
 * this class on the JDK's HttpClient.
 */
public final class SchemaRegistryClient {

  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String base;
  private final HttpClient http;
  private final String authorization;
  private final Duration timeout;
  private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
  private final Map<String, Integer> idsBySubjectAndSchema = new ConcurrentHashMap<>();

  /**
   * A registry's answer other than success, with its HTTP status and the registry's own error code.
   */
  public static final class RegistryException extends IOException {
    private final int status;
    private final int errorCode;

    RegistryException(String message, int status, int errorCode) {
      super(message);
      this.status = status;
      this.errorCode = errorCode;
    }

    public int status() {
      return status;
    }

    /**
     * The registry's {@code error_code} (e.g. 40403 schema not found, 409 incompatible), or the
     * status.
     */
    public int errorCode() {
      return errorCode;
    }

    /**
     * Whether this is the registry's definite answer about the schema or id asked (not found,
     * incompatible, invalid, not Avro), as opposed to a registry that cannot answer now (5xx, 401,
     * 403, a 404 without a registry error code: a wrong URL). Only a refusal may dead-letter a
     * record.
     */
    public boolean isRefusal() {
      return status / 100 == 2
          || errorCode / 100 == 404
          || status == 409
          || status == 422
          || errorCode / 100 == 422;
    }
  }

  /** The answer of a compatibility test: whether, and the registry's reasons when not. */
  public record Compatibility(boolean compatible, List<String> messages) {}

  public SchemaRegistryClient(SchemaRegistryConfig config) {
    this(
        config.url(),
        config.userInfo().value(),
        sslContext(config),
        Duration.ofMillis(config.getInt(SchemaRegistryConfig.REQUEST_TIMEOUT_MS_CONFIG)));
  }

  /**
   * @param userInfo {@code user:password} for basic authentication, or empty
   * @param ssl the TLS context for an https registry, or null for the JVM's default
   */
  public SchemaRegistryClient(String url, String userInfo, SSLContext ssl, Duration timeout) {
    this.base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(timeout);
    if (ssl != null) {
      builder.sslContext(ssl);
    }
    this.http = builder.build();
    this.authorization =
        userInfo == null || userInfo.isEmpty()
            ? null
            : "Basic "
                + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
    this.timeout = timeout;
  }

  /**
   * Registers {@code schema} under {@code subject} (or finds it, when already registered); its
   * global id.
   */
  public int register(String subject, Schema schema) throws IOException {
    String key = subject + '\u0000' + schema;
    Integer cached = idsBySubjectAndSchema.get(key);
    if (cached != null) {
      return cached;
    }
    JsonNode answer =
        send("POST", "/subjects/" + encode(subject) + "/versions", schemaBody(schema));
    int id = answer.path("id").asInt(-1);
    if (id < 0) {
      throw new RegistryException(
          "registry answered no id for subject " + subject + ": " + answer, 200, 0);
    }
    idsBySubjectAndSchema.put(key, id);
    schemasById.putIfAbsent(id, schema);
    return id;
  }

  /** The schema registered with {@code id}. */
  public Schema schemaById(int id) throws IOException {
    Schema cached = schemasById.get(id);
    if (cached != null) {
      return cached;
    }
    JsonNode answer = send("GET", "/schemas/ids/" + id, null);
    String type = answer.path("schemaType").asText("AVRO");
    if (!type.equals("AVRO")) {
      throw new RegistryException("schema " + id + " is " + type + ", not Avro", 200, 0);
    }
    Schema schema;
    try {
      schema = new Schema.Parser().parse(answer.path("schema").asText());
    } catch (RuntimeException e) {
      throw new RegistryException(
          "schema " + id + " from the registry is not valid Avro: " + e.getMessage(), 200, 0);
    }
    schemasById.putIfAbsent(id, schema);
    return schema;
  }

  /**
   * Whether {@code schema} may be registered next under {@code subject}, by the subject's
   * compatibility rule.
   */
  public Compatibility testCompatibility(String subject, Schema schema) throws IOException {
    JsonNode answer;
    try {
      answer =
          send(
              "POST",
              "/compatibility/subjects/" + encode(subject) + "/versions/latest?verbose=true",
              schemaBody(schema));
    } catch (RegistryException e) {
      if (e.errorCode() == 40401 || e.errorCode() == 40402) {
        return new Compatibility(true, List.of()); // nothing registered yet: anything is compatible
      }
      throw e;
    }
    List<String> messages = new ArrayList<>();
    answer.path("messages").forEach(m -> messages.add(m.asText()));
    return new Compatibility(answer.path("is_compatible").asBoolean(false), messages);
  }

  /**
   * Sets a subject's compatibility level (BACKWARD, FORWARD, FULL, NONE, and their _TRANSITIVE
   * forms).
   */
  public void setCompatibility(String subject, String level) throws IOException {
    ObjectNode body = JSON.createObjectNode().put("compatibility", level);
    send("PUT", "/config/" + encode(subject), body.toString());
  }

  private static String schemaBody(Schema schema) {
    return JSON.createObjectNode()
        .put("schemaType", "AVRO")
        .put("schema", schema.toString())
        .toString();
  }

  private JsonNode send(String method, String path, String body) throws IOException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(timeout)
            .header("Accept", CONTENT_TYPE + ", application/json")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", CONTENT_TYPE);
    }
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    HttpResponse<String> response;
    try {
      response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted calling the schema registry at " + base, e);
    } catch (IOException e) {
      throw new IOException("cannot reach the schema registry at " + base + ": " + e, e);
    }
    JsonNode answer;
    try {
      answer = response.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(response.body());
    } catch (IOException e) {
      answer = JSON.createObjectNode().put("message", response.body());
    }
    if (response.statusCode() / 100 != 2) {
      throw new RegistryException(
          "schema registry "
              + method
              + " "
              + path
              + " answered "
              + response.statusCode()
              + ": "
              + answer.path("message").asText(response.body()),
          response.statusCode(),
          answer.path("error_code").asInt(response.statusCode()));
    }
    return answer;
  }

  private static String encode(String subject) {
    return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static SSLContext sslContext(SchemaRegistryConfig config) {
    String location = config.getString(SchemaRegistryConfig.SSL_TRUSTSTORE_LOCATION_CONFIG);
    if (location.isEmpty()) {
      return null;
    }
    try (InputStream in = Files.newInputStream(Path.of(location))) {
      KeyStore store =
          KeyStore.getInstance(config.getString(SchemaRegistryConfig.SSL_TRUSTSTORE_TYPE_CONFIG));
      store.load(
          in,
          config
              .getPassword(SchemaRegistryConfig.SSL_TRUSTSTORE_PASSWORD_CONFIG)
              .value()
              .toCharArray());
      TrustManagerFactory trust =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(store);
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, trust.getTrustManagers(), null);
      return ssl;
    } catch (IOException | GeneralSecurityException e) {
      throw new org.apache.kafka.common.config.ConfigException(
          SchemaRegistryConfig.SSL_TRUSTSTORE_LOCATION_CONFIG,
          location,
          "cannot load the trust store: " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    return "SchemaRegistryClient{"
        + base
        + (authorization == null ? "" : ", basic auth [hidden]")
        + "}";
  }
}
