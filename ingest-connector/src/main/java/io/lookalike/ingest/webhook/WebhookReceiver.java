package io.lookalike.ingest.webhook;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lookalike.ingest.ProductEventEncoder;
import io.lookalike.ingest.ProductEventJson;
import io.lookalike.schemas.ChangeToken;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webhook: {@code POST /v1/events} with one event or a JSON array of them (see {@link
 * ProductEventJson} for the shape), framework-free so that any HTTP server can mount it ({@link
 * WebhookServer} standalone, the gateway in the local mode). Checks the caller (bearer secret or
 * HMAC signature, compared in constant time), validates every event (400 with all field errors,
 * nothing produced), drops eventIds it already acknowledged, produces the rest with acks=all and
 * answers 202 only once the brokers acknowledged them; 503 when they do not in time (nothing
 * acknowledged, the caller retries). Thread-safe.
 *
 * <pre>
 * curl -X POST http://localhost:8081/v1/events -H 'Authorization: Bearer $SECRET' -H 'Content-Type: application/json' \
 *   -d '{"eventId":"e1","type":"UPSERT","productId":"p1","version":1,"product":{"title":"Red dress"},
 *        "images":[{"imageId":"front","url":"https://cdn.example.com/p1.jpg"}]}'
 * </pre>
 *
 * <p>Idempotency: acknowledged eventIds are remembered in memory (bounded, for a window), so a
 * retried delivery is answered 202 again without producing twice; a delivery of an eventId still in
 * progress gets 409. Across restarts (or beyond the window) a redelivery is produced again, and the
 * fetcher drops it because its version is not newer than the one it processed.
 */
public final class WebhookReceiver implements AutoCloseable {

  /** An HTTP answer: status, JSON body, extra headers. */
  public record Response(int status, String body, Map<String, String> headers) {
    public static final String CONTENT_TYPE = "application/json";

    public byte[] bodyBytes() {
      return body.getBytes(StandardCharsets.UTF_8);
    }
  }

  private static final Logger log = LoggerFactory.getLogger(WebhookReceiver.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final WebhookConfig config;
  private final Producer<String, byte[]> producer;
  private final boolean ownsProducer;
  private final String topic;
  private final byte[] secret;
  private final String signatureHeader;
  private final int ackTimeoutMs;
  private final Dedup dedup;
  private final MeterRegistry registry;
  private final ProductEventJson.Rules rules;
  private final ProductEventEncoder encoder;

  /**
   * With a Kafka producer of its own (acks=all, idempotent, timeouts from webhook.ack.timeout.ms).
   */
  public WebhookReceiver(WebhookConfig config, MeterRegistry registry) {
    this(
        config,
        new KafkaProducer<>(
            producerConfig(config), new StringSerializer(), new ByteArraySerializer()),
        true,
        registry);
  }

  /**
   * With a producer of the caller's (which should use acks=all); not closed by {@link #close()}.
   */
  public WebhookReceiver(
      WebhookConfig config, Producer<String, byte[]> producer, MeterRegistry registry) {
    this(config, producer, false, registry);
  }

  private WebhookReceiver(
      WebhookConfig config,
      Producer<String, byte[]> producer,
      boolean owns,
      MeterRegistry registry) {
    this.config = config;
    this.producer = producer;
    this.ownsProducer = owns;
    this.topic = config.getString(WebhookConfig.TOPIC_CONFIG);
    this.secret = config.secret().getBytes(StandardCharsets.UTF_8);
    this.signatureHeader =
        config.getString(WebhookConfig.SIGNATURE_HEADER_CONFIG).toLowerCase(Locale.ROOT);
    this.ackTimeoutMs = config.getInt(WebhookConfig.ACK_TIMEOUT_MS_CONFIG);
    this.dedup =
        new Dedup(
            config.getInt(WebhookConfig.DEDUP_MAX_ENTRIES_CONFIG),
            config.getLong(WebhookConfig.DEDUP_WINDOW_MS_CONFIG));
    this.registry = registry == null ? Metrics.globalRegistry : registry;
    this.rules =
        ProductEventJson.Rules.strict()
            .withFileUrls(config.getBoolean(WebhookConfig.ALLOW_FILE_URLS_CONFIG));
    this.encoder = ProductEventEncoder.from(new SchemaRegistryConfig(config.originals()), topic);
  }

  static Map<String, Object> producerConfig(WebhookConfig config) {
    Map<String, Object> props = new HashMap<>(config.originalsWithPrefix("producer."));
    props.put(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        config.getList(WebhookConfig.BOOTSTRAP_SERVERS_CONFIG));
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    int timeout = config.getInt(WebhookConfig.ACK_TIMEOUT_MS_CONFIG);
    // A broker that is down must turn into a 503 within the timeout, not a request hanging for
    // minutes.
    props.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout);
    props.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 1);
    props.putIfAbsent(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, timeout - 1);
    props.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, timeout);
    return props;
  }

  /**
   * Handles one {@code POST /v1/events}.
   *
   * @param body the raw request body (the caller enforces {@code webhook.max.body.bytes}; see
   *     {@link #maxBodyBytes()})
   * @param headers request headers, names in any case
   */
  public Response handle(byte[] body, Map<String, String> headers) {
    Map<String, String> h = new HashMap<>();
    headers.forEach((k, v) -> h.put(k.toLowerCase(Locale.ROOT), v));
    Response response = process(body, h);
    registry
        .counter("lookalike.webhook.requests", "status", Integer.toString(response.status()))
        .increment();
    return response;
  }

  private static boolean isJson(String contentType) {
    if (contentType == null) {
      return false;
    }
    int semicolon = contentType.indexOf(';');
    return (semicolon < 0 ? contentType : contentType.substring(0, semicolon))
        .strip()
        .equalsIgnoreCase("application/json");
  }

  /** The largest body {@link #handle} accepts; servers should stop reading past it. */
  public int maxBodyBytes() {
    return config.getInt(WebhookConfig.MAX_BODY_BYTES_CONFIG);
  }

  private Response process(byte[] body, Map<String, String> headers) {
    // Catalog systems are servers: a request a browser sent for a web page (it names its Origin) is
    // refused,
    // and only JSON is read, which no page can send without a CORS preflight that is never granted.
    if (headers.containsKey("origin")
        || "cross-site".equalsIgnoreCase(headers.get("sec-fetch-site"))) {
      return error(403, "cross_origin", "the webhook does not take requests from web pages");
    }
    if (!isJson(headers.get("content-type"))) {
      return error(415, "unsupported_type", "the webhook takes Content-Type: application/json");
    }
    if (!authorised(body, headers)) {
      return error(
          401,
          "unauthorized",
          "missing or wrong "
              + (config.auth().equals("hmac")
                  ? config.getString(WebhookConfig.SIGNATURE_HEADER_CONFIG) + " signature"
                  : "bearer token"));
    }
    if (body.length > maxBodyBytes()) {
      return error(413, "too_large", "body larger than " + maxBodyBytes() + " bytes");
    }
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      return error(
          400,
          "invalid_json",
          "body is not JSON: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (root == null || !(root.isObject() || root.isArray())) {
      return error(400, "invalid_json", "body must be an event object or an array of events");
    }
    boolean batch = root.isArray();
    if (batch && root.size() > config.getInt(WebhookConfig.MAX_BATCH_EVENTS_CONFIG)) {
      return error(
          413,
          "too_many_events",
          "more than "
              + config.getInt(WebhookConfig.MAX_BATCH_EVENTS_CONFIG)
              + " events in one request");
    }
    if (batch && root.isEmpty()) {
      return error(400, "invalid_event", "empty array");
    }

    List<ProductEventJson.FieldError> errors = new ArrayList<>();
    Map<String, ProductEvent> events =
        new LinkedHashMap<>(); // by eventId: a repeat within the batch counts once
    int index = 0;
    for (JsonNode node : batch ? root : List.of(root)) {
      ProductEvent event =
          ProductEventJson.read(node, batch ? "[" + index + "]" : "", errors, rules);
      if (event != null) {
        events.putIfAbsent(event.getEventId(), event);
      }
      index++;
    }
    if (!errors.isEmpty()) {
      registry.counter("lookalike.webhook.events", "outcome", "invalid").increment(errors.size());
      ObjectNode out =
          errorNode("invalid_event", errors.size() + " invalid field(s); nothing was accepted");
      ArrayNode fields = out.putArray("fields");
      errors.forEach(e -> fields.addObject().put("field", e.field()).put("message", e.message()));
      return json(400, out);
    }
    return produce(events, index);
  }

  private Response produce(Map<String, ProductEvent> events, int received) {
    List<String> fresh = new ArrayList<>();
    int duplicates = 0;
    for (String eventId : events.keySet()) {
      switch (dedup.reserve(eventId)) {
        case NEW -> fresh.add(eventId);
        case ACKNOWLEDGED -> duplicates++;
        case IN_PROGRESS -> {
          fresh.forEach(dedup::release);
          return error(
              409,
              "in_progress",
              "event " + eventId + " is being delivered by another request; retry");
        }
      }
    }
    duplicates += received - events.size();
    List<Future<RecordMetadata>> sends = new ArrayList<>();
    List<String> acknowledged = new ArrayList<>();
    try {
      for (String eventId : fresh) {
        ProductEvent event = events.get(eventId);
        sends.add(
            producer.send(
                new ProducerRecord<>(topic, event.getProductId(), encoder.encode(event))));
      }
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ackTimeoutMs);
      for (int i = 0; i < sends.size(); i++) {
        sends.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        acknowledged.add(fresh.get(i));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return unavailable(fresh, acknowledged, e);
    } catch (ExecutionException
        | TimeoutException
        | org.apache.kafka.common.KafkaException
        | io.lookalike.schemas.registry.RegistryUnavailableException e) {
      // a schema registry that cannot be asked is answered like a broker that cannot: 503, retry
      return unavailable(fresh, acknowledged, e);
    }
    fresh.forEach(dedup::acknowledge);
    registry.counter("lookalike.webhook.events", "outcome", "accepted").increment(fresh.size());
    registry.counter("lookalike.webhook.events", "outcome", "duplicate").increment(duplicates);
    ObjectNode out =
        JSON.createObjectNode().put("accepted", fresh.size()).put("duplicates", duplicates);
    // Read your writes: GET /v1/status?token=, or a search with consistentWith=, on the local mode.
    out.put(
        "token",
        new ChangeToken(
                events.values().stream()
                    .map(
                        e ->
                            new ChangeToken.Change(
                                e.getProductId(),
                                e.getVersion(),
                                e.getType() == io.lookalike.schemas.EventType.DELETE))
                    .toList())
            .encode());
    return json(202, out);
  }

  /**
   * The brokers did not acknowledge: answer 503; what they did acknowledge is remembered, the rest
   * released.
   */
  private Response unavailable(List<String> fresh, List<String> acknowledged, Exception e) {
    Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
    boolean registryDown =
        cause instanceof io.lookalike.schemas.registry.RegistryUnavailableException;
    log.warn(
        "{} webhook events ({} of {} acknowledged): {}",
        registryDown ? "Schema registry unreachable, not writing" : "Kafka did not acknowledge",
        acknowledged.size(),
        fresh.size(),
        cause.toString());
    acknowledged.forEach(dedup::acknowledge);
    fresh.stream().filter(id -> !acknowledged.contains(id)).forEach(dedup::release);
    registry
        .counter("lookalike.webhook.events", "outcome", "unavailable")
        .increment(fresh.size() - acknowledged.size());
    Response response =
        error(
            503,
            "unavailable",
            registryDown
                ? "the schema registry could not be reached; nothing was written; retry"
                : "the event log did not acknowledge the events in time; retry");
    return new Response(response.status(), response.body(), Map.of("Retry-After", "5"));
  }

  private boolean authorised(byte[] body, Map<String, String> headers) {
    switch (config.auth()) {
      case "none":
        return true;
      case "bearer":
        {
          String header = headers.get("authorization");
          if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
          }
          return MessageDigest.isEqual(
              header.substring(7).strip().getBytes(StandardCharsets.UTF_8), secret);
        }
      case "hmac":
        {
          String header = headers.get(signatureHeader);
          if (header == null) {
            return false;
          }
          String hex = header.strip();
          if (hex.regionMatches(true, 0, "sha256=", 0, 7)) {
            hex = hex.substring(7);
          }
          byte[] given;
          try {
            given = HexFormat.of().parseHex(hex.toLowerCase(Locale.ROOT));
          } catch (IllegalArgumentException e) {
            return false;
          }
          return MessageDigest.isEqual(given, hmac(secret, body));
        }
      default:
        return false;
    }
  }

  /**
   * HMAC-SHA256 of {@code body} keyed with {@code secret}: what callers send, hex-encoded after
   * "sha256=".
   */
  public static byte[] hmac(byte[] secret, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return mac.doFinal(body);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Response error(int status, String code, String message) {
    return json(status, errorNode(code, message));
  }

  private static ObjectNode errorNode(String code, String message) {
    return JSON.createObjectNode().put("error", message).put("code", code);
  }

  private static Response json(int status, ObjectNode body) {
    try {
      return new Response(status, JSON.writeValueAsString(body), Map.of());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    if (ownsProducer) {
      producer.close(java.time.Duration.ofSeconds(5));
    }
  }

  /** Acknowledged eventIds (bounded, for a window) and those being delivered right now. */
  private static final class Dedup {
    enum State {
      NEW,
      IN_PROGRESS,
      ACKNOWLEDGED
    }

    private final int maxEntries;
    private final long windowMs;
    private final Set<String> inProgress = new HashSet<>();

    /** eventId → when acknowledged; insertion order is acknowledgement order, oldest first. */
    private final LinkedHashMap<String, Long> acknowledged = new LinkedHashMap<>();

    Dedup(int maxEntries, long windowMs) {
      this.maxEntries = maxEntries;
      this.windowMs = windowMs;
    }

    synchronized State reserve(String eventId) {
      evict();
      if (inProgress.contains(eventId)) {
        return State.IN_PROGRESS;
      }
      if (acknowledged.containsKey(eventId)) {
        return State.ACKNOWLEDGED;
      }
      inProgress.add(eventId);
      return State.NEW;
    }

    synchronized void acknowledge(String eventId) {
      inProgress.remove(eventId);
      acknowledged.remove(eventId);
      acknowledged.put(eventId, System.currentTimeMillis());
      evict();
    }

    synchronized void release(String eventId) {
      inProgress.remove(eventId);
    }

    private void evict() {
      long now = System.currentTimeMillis();
      var it = acknowledged.values().iterator();
      while (it.hasNext()) {
        long at = it.next();
        if (acknowledged.size() > maxEntries || now - at > windowMs) {
          it.remove();
        } else {
          break;
        }
      }
    }
  }
}
