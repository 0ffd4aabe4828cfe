package io.lookalike.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.config.RoutesConfig;
import io.javalin.config.SizeUnit;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.http.UploadedFile;
import io.javalin.json.JavalinJackson;
import io.lookalike.schemas.ChangeToken;
import io.lookalike.store.VectorStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storefront's HTTP API and web page over a {@link SearchService}.
 *
 * <pre>
 * # search by photo: multipart upload (form fields k, category, brand, minPrice, maxPrice, availability)
 * curl -F image=@shirt.jpg -F k=5 -F category=shirt http://localhost:8080/v1/search
 * # search by photo: raw body, parameters in the query string
 * curl --data-binary @shirt.jpg -H 'Content-Type: image/jpeg' 'http://localhost:8080/v1/search?k=5&amp;maxPrice=50'
 * # search by image URL, product id or vector (exactly one of them), with filters
 * curl -H 'Content-Type: application/json' -d '{"imageUrl": "https://example.com/a.jpg", "k": 10,
 *   "filters": {"category": ["shirt"], "brand": ["acme"], "minPrice": 10, "maxPrice": 50, "availability": ["IN_STOCK"]}}' \
 *   http://localhost:8080/v1/search
 * curl -H 'Content-Type: application/json' -d '{"productId": "p42"}' http://localhost:8080/v1/search
 * curl -H 'Content-Type: application/json' -d '{"vector": [0.1, 0.2, ...]}' http://localhost:8080/v1/search
 * # like this, but from Northwind (photo and text fused), text only, and boosts (see docs/api.md)
 * curl -F image=@dress.jpg -F q=northwind http://localhost:8080/v1/search
 * curl -H 'Content-Type: application/json' -d '{"q": "black dress"}' http://localhost:8080/v1/search
 * curl 'http://localhost:8080/v1/products/p42/similar?boost.availability=IN_STOCK:0.05&amp;boost.attribute=popularity:0.1'
 * # products similar to one product (it is left out of its own results)
 * curl 'http://localhost:8080/v1/products/p42/similar?k=5&amp;category=shirt'
 * # a result's image and its 256 px card rendition, from the pipeline's bytes (see ImageRoutes)
 * curl -L http://localhost:8080/v1/images/p42/main
 * curl http://localhost:8080/v1/images/p42/main/thumbnail
 * # the active model and the others known (vectors, lag, state: active, ready, catching_up,
 * # refused), with each candidate's agreement with the live answers on mirrored searches (shadow)
 * curl http://localhost:8080/v1/models
 * # health (200 UP, 503 DOWN) and Prometheus metrics
 * curl http://localhost:8080/health
 * curl http://localhost:8080/metrics
 * # the web page
 * open http://localhost:8080/
 * </pre>
 *
 * <p>Errors are {@code {"error": "...", "code": "..."}} with the status and code of an {@link
 * ErrorCode} (the table in docs/api.md is generated from it), e.g. 400 {@code bad_request} or
 * {@code bad_filter} (an unknown filter or parameter, or a bad filter value), 413 {@code
 * too_large}, 415 {@code unsupported_type}, 404 {@code not_found}, 409 {@code model_mismatch}, 501
 * {@code text_unsupported}, 503 {@code no_index}; 500 {@code internal} otherwise, never with a
 * stack trace. An image URL is fetched within {@code gateway.fetch.budget.ms}, retries included;
 * two {@code image} parts or {@code minPrice} above {@code maxPrice} are {@code bad_request}.
 */
public class GatewayServer implements AutoCloseable {

  public static final String SEARCH_TIMER = "lookalike.gateway.search";
  public static final String ERRORS_COUNTER = "lookalike.gateway.errors";

  private static final Logger log = LoggerFactory.getLogger(GatewayServer.class);
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** Room for the multipart boundaries and form fields around the photo. */
  private static final long MULTIPART_OVERHEAD_BYTES = 64 * 1024;

  private static final String CLOSE_CONNECTION = "lookalike.closeConnection";

  /** The header a search may carry a read-your-writes token in, instead of consistentWith. */
  public static final String CONSISTENT_WITH_HEADER = "Consistent-With";

  private static final Set<String> IMAGE_TYPES =
      Set.of("image/jpeg", "image/png", "image/webp", "application/octet-stream");

  private final GatewayConfig config;
  private final SearchService service;
  private final PrometheusMeterRegistry registry;
  private final long maxUploadBytes;
  private final Path imagesDir;
  private final StageHealth healthChecks = new StageHealth();
  private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
  private final byte[] page;
  private final List<Consumer<RoutesConfig>> extraRoutes = new CopyOnWriteArrayList<>();
  private volatile ModelDirectory modelDirectory;
  private volatile Thumbnails thumbnails;
  private volatile ChangeStatus changeStatus;
  private Javalin app;

  public GatewayServer(
      GatewayConfig config, SearchService service, PrometheusMeterRegistry registry) {
    this.config = config;
    this.service = service;
    this.registry = registry;
    this.maxUploadBytes = config.maxUploadBytes();
    this.imagesDir = realDir(config.imagesAllowedDir());
    this.page = resource("index.html");
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    gcMetrics.bindTo(registry);
    service.bindMetrics(registry);
  }

  /** Adds a check to {@code GET /health}; any check that is down makes the gateway DOWN. */
  public GatewayServer addHealthCheck(String name, HealthCheck check) {
    healthChecks.add(name, check);
    return this;
  }

  /**
   * Adds routes of another component (e.g. an admin API) to this server; call before {@link
   * #start()}. Errors they throw as {@link SearchException} are answered like the gateway's own.
   */
  public GatewayServer addRoutes(Consumer<RoutesConfig> routes) {
    extraRoutes.add(routes);
    return this;
  }

  /**
   * Where {@code GET /v1/models} learns of the models besides the active one; without it, only the
   * active one.
   */
  public GatewayServer modelDirectory(ModelDirectory directory) {
    this.modelDirectory = directory;
    return this;
  }

  /**
   * Where {@code GET /v1/status?token=} and searches with {@code consistentWith=} learn how far a
   * write is; without it they answer 501.
   */
  public GatewayServer changeStatus(ChangeStatus status) {
    this.changeStatus = status;
    return this;
  }

  /**
   * Where result images and their thumbnails are served from (the pipeline's bytes); call before
   * {@link #start()}.
   */
  public GatewayServer thumbnails(Thumbnails thumbnails) {
    this.thumbnails = thumbnails;
    return this;
  }

  /** Starts listening; returns the bound port (the configured one, or a free one for port 0). */
  public synchronized int start() {
    app =
        Javalin.create(
            cfg -> {
              cfg.startup.showJavalinBanner = false;
              cfg.jsonMapper(new JavalinJackson(MAPPER, false));
              cfg.http.maxRequestSize = maxUploadBytes;
              cfg.jetty.host = config.host();
              cfg.jetty.port = config.port();
              cfg.jetty.multipartConfig.maxFileSize(maxUploadBytes, SizeUnit.BYTES);
              cfg.jetty.multipartConfig.maxInMemoryFileSize(
                  (int) Math.min(maxUploadBytes, Integer.MAX_VALUE), SizeUnit.BYTES);
              cfg.jetty.multipartConfig.maxTotalRequestSize(
                  maxUploadBytes + MULTIPART_OVERHEAD_BYTES, SizeUnit.BYTES);

              cfg.routes.get("/", ctx -> ctx.contentType("text/html; charset=utf-8").result(page));
              cfg.routes.post("/v1/search", this::search);
              cfg.routes.get("/v1/products/{productId}/similar", this::similar);
              ImageRoutes images =
                  new ImageRoutes(
                      service,
                      thumbnails,
                      imagesDir,
                      config.getBoolean(GatewayConfig.IMAGES_REDIRECT_HTTP_CONFIG));
              cfg.routes.get("/v1/images/{productId}/{imageId}", images::original);
              cfg.routes.get("/v1/images/{productId}/{imageId}/thumbnail", images::thumbnail);
              cfg.routes.get("/v1/models", this::models);
              cfg.routes.get("/v1/status", ctx -> ctx.json(changeStatus().status(token(ctx))));
              cfg.routes.get("/health", this::health);
              extraRoutes.forEach(routes -> routes.accept(cfg.routes));
              cfg.routes.get(
                  "/metrics",
                  ctx ->
                      ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                          .result(registry.scrape()));

              cfg.routes.exception(
                  SearchException.class,
                  (e, ctx) -> error(ctx, e.status(), e.error(), e.getMessage(), e));
              cfg.routes.exception(
                  HttpResponseException.class,
                  (e, ctx) ->
                      error(
                          ctx,
                          e.getStatus(),
                          ErrorCode.forStatus(e.getStatus()),
                          e.getMessage(),
                          null));
              cfg.routes.exception(
                  Exception.class,
                  (e, ctx) -> error(ctx, 500, ErrorCode.INTERNAL, "internal error", e));
            });
    app.start();
    log.info(
        "Query gateway listening on http://{}:{}/ (model {})",
        config.host(),
        app.port(),
        service.modelId());
    return app.port();
  }

  public int port() {
    return app.port();
  }

  @Override
  public synchronized void close() {
    if (app != null) {
      app.stop();
      app = null;
    }
    gcMetrics.close();
  }

  private void search(Context ctx) throws IOException {
    long length = ctx.req().getContentLengthLong();
    String type = mediaType(ctx.contentType());
    if (type.equals("multipart/form-data")) {
      if (length > maxUploadBytes + MULTIPART_OVERHEAD_BYTES) {
        throw SearchException.tooLarge(maxUploadBytes);
      }
      UploadedFile file = uploadedImage(ctx);
      Function<String, List<String>> params =
          name -> {
            List<String> values = ctx.formParams(name);
            return values.isEmpty() ? ctx.queryParams(name) : values;
          };
      Set<String> names = new java.util.LinkedHashSet<>(ctx.formParamMap().keySet());
      names.addAll(ctx.queryParamMap().keySet());
      SearchRequest request = SearchRequests.fromParams(names, params, service.defaultBoosts());
      if (file == null) {
        if (request.text() == null) {
          throw SearchException.badRequest("missing the file part 'image' (or a text q)");
        }
        respond(ctx, "text", request, service::byText);
        return;
      }
      byte[] photo;
      try (InputStream in = file.content()) {
        photo = readLimited(in);
      }
      respond(ctx, "photo", request, r -> service.byPhoto(photo, r));
    } else if (IMAGE_TYPES.contains(type)) {
      if (length > maxUploadBytes) {
        throw SearchException.tooLarge(maxUploadBytes);
      }
      SearchRequest request =
          SearchRequests.fromParams(
              ctx.queryParamMap().keySet(), ctx::queryParams, service.defaultBoosts());
      byte[] photo = readLimited(ctx.bodyInputStream());
      respond(ctx, "photo", request, r -> service.byPhoto(photo, r));
    } else if (type.equals("application/json")) {
      if (length > maxUploadBytes) {
        throw SearchException.tooLarge(maxUploadBytes);
      }
      jsonSearch(ctx, readLimited(ctx.bodyInputStream()));
    } else {
      throw new SearchException(
          ErrorCode.UNSUPPORTED_TYPE,
          "Content-Type must be multipart/form-data, "
              + "image/jpeg, image/png, image/webp or application/json, got "
              + (type.isEmpty() ? "none" : type));
    }
  }

  private void jsonSearch(Context ctx, byte[] body) {
    JsonNode json;
    try {
      json = MAPPER.readTree(body);
    } catch (IOException e) {
      throw SearchException.badRequest(
          "invalid JSON: "
              + (e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
    if (json == null || !json.isObject()) {
      throw SearchException.badRequest("the body must be a JSON object");
    }
    SearchRequest request = SearchRequests.fromJson(json, service.defaultBoosts());
    List<String> given = new ArrayList<>();
    for (String field : List.of("imageUrl", "productId", "vector")) {
      if (json.hasNonNull(field)) {
        given.add(field);
      }
    }
    if (given.isEmpty() && request.text() != null && !request.text().isBlank()) {
      respond(ctx, "text", request, service::byText);
      return;
    }
    if (given.size() != 1) {
      throw SearchException.badRequest(
          "give exactly one of imageUrl, productId, vector (or only a text q); got " + given);
    }
    switch (given.get(0)) {
      case "imageUrl" ->
          respond(ctx, "url", request, r -> service.byUrl(json.get("imageUrl").asText(), r));
      case "productId" ->
          respond(
              ctx, "product", request, r -> service.byProduct(json.get("productId").asText(), r));
      default -> {
        float[] vector = jsonVector(json.get("vector"));
        respond(ctx, "vector", request, r -> service.byVector(vector, r));
      }
    }
  }

  private void similar(Context ctx) {
    String productId = ctx.pathParam("productId");
    SearchRequest request =
        SearchRequests.fromParams(
            ctx.queryParamMap().keySet(), ctx::queryParams, service.defaultBoosts());
    respond(ctx, "product", request, r -> service.byProduct(productId, r));
  }

  /** The read-your-writes token of {@code GET /v1/status?token=}. */
  private static ChangeToken token(Context ctx) {
    String raw = ctx.queryParam("token");
    if (raw == null || raw.isBlank()) {
      throw SearchException.badRequest("give the token of a write: /v1/status?token=...");
    }
    return parseToken(raw);
  }

  private static ChangeToken parseToken(String raw) {
    try {
      return ChangeToken.decode(raw.strip());
    } catch (IllegalArgumentException e) {
      throw SearchException.badRequest(e.getMessage());
    }
  }

  private ChangeStatus changeStatus() {
    ChangeStatus status = changeStatus;
    if (status == null) {
      throw new SearchException(
          ErrorCode.CONSISTENCY_UNSUPPORTED,
          "this gateway cannot follow a write: it was started without a change status");
    }
    return status;
  }

  /**
   * Read your writes: with {@code consistentWith=<token>} (or the {@link #CONSISTENT_WITH_HEADER}
   * header) the search waits, at most {@code gateway.consistency.max.wait.ms} (or the shorter
   * {@code consistentWithinMs=} it asks for), until the token's changes are searchable in the
   * active index.
   */
  private boolean awaitConsistency(Context ctx) {
    String raw = ctx.header(CONSISTENT_WITH_HEADER);
    if (raw == null || raw.isBlank()) {
      raw = ctx.queryParam("consistentWith");
    }
    if (raw == null || raw.isBlank()) {
      return false;
    }
    ChangeToken token = parseToken(raw);
    ChangeStatus status = changeStatus();
    long maxWaitMs = config.getLong(GatewayConfig.CONSISTENCY_MAX_WAIT_MS_CONFIG);
    String within = ctx.queryParam("consistentWithinMs");
    if (within != null && !within.isBlank()) {
      try {
        maxWaitMs = Math.min(maxWaitMs, Math.max(0, Long.parseLong(within.strip())));
      } catch (NumberFormatException e) {
        throw SearchException.badRequest(
            "consistentWithinMs must be a whole number, got " + within);
      }
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxWaitMs);
    while (!status.searchable(token)) {
      if (System.nanoTime() - deadline >= 0) {
        throw new SearchException(
            ErrorCode.NOT_YET_SEARCHABLE,
            "the write is not searchable after "
                + maxWaitMs
                + " ms ("
                + GatewayConfig.CONSISTENCY_MAX_WAIT_MS_CONFIG
                + "); GET /v1/status?token= says where it is");
      }
      try {
        Thread.sleep(25);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SearchException(ErrorCode.INTERRUPTED, "interrupted while waiting for a write");
      }
    }
    return true;
  }

  /**
   * Answers the search; one with a read-your-writes token first waits for it, then reads the index
   * at strong consistency, so that it sees what the wait saw (on Milvus; Lucene always does).
   */
  private void respond(
      Context ctx,
      String by,
      SearchRequest request,
      Function<SearchRequest, SearchResponse> search) {
    SearchRequest asked = awaitConsistency(ctx) ? request.withStrongReads() : request;
    Timer.Sample sample = Timer.start(registry);
    String outcome = "error";
    try {
      SearchResponse response = search.apply(asked);
      outcome = "ok";
      ctx.json(response);
    } finally {
      sample.stop(
          Timer.builder(SEARCH_TIMER)
              .description("Time to answer one search, by kind of query")
              .tag("by", by)
              .tag("outcome", outcome)
              .publishPercentileHistogram()
              .register(registry));
    }
  }

  private void models(Context ctx) {
    ActiveModel active = service.active();
    ModelDirectory directory = modelDirectory;
    List<ModelStatus> models;
    if (directory != null) {
      models = directory.models();
    } else if (active == null) {
      models = List.of();
    } else {
      var info = active.embedder().model();
      models =
          List.of(
              new ModelStatus(
                  info.modelId(),
                  info.name(),
                  null,
                  info.dimension(),
                  active.store().count(),
                  -1,
                  ModelStatus.ACTIVE,
                  null));
    }
    ShadowTraffic shadow = service.shadow();
    if (shadow != null && active != null) {
      models =
          models.stream()
              .map(m -> m.withShadow(shadow.summary(m.modelId(), active.modelId())))
              .toList();
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("active", active == null ? null : active.modelId());
    body.put("models", models);
    body.put("shadowShare", shadow == null ? 0.0 : shadow.share());
    ctx.json(body);
  }

  private void health(Context ctx) {
    Map<String, Object> body = new LinkedHashMap<>();
    boolean up = true;
    body.put("status", "UP");
    ActiveModel active = service.active();
    body.put("modelId", active == null ? null : active.modelId());
    try {
      VectorStore store = active == null ? null : active.store();
      if (store == null) {
        up = false;
        body.put("index", "no active index");
      } else {
        body.put("indexModelId", store.modelId());
        body.put("vectors", store.count());
        if (!store.modelId().equals(active.modelId())) {
          up = false;
        }
      }
    } catch (RuntimeException e) {
      up = false;
      body.put("index", "unavailable: " + e.getMessage());
    }
    Map<String, Object> checks = new LinkedHashMap<>();
    boolean degraded = false;
    for (Map.Entry<String, HealthCheck.Status> check : healthChecks.checkAll().entrySet()) {
      HealthCheck.Status status = check.getValue();
      up &= status.up();
      degraded |= status.degraded();
      checks.put(
          check.getKey(),
          Map.of(
              "status", status.word(), "detail", status.detail() == null ? "" : status.detail()));
    }
    body.put("checks", checks);
    body.put("status", up ? (degraded ? "DEGRADED" : "UP") : "DOWN");
    ctx.status(up ? 200 : 503).json(body);
  }

  private void error(Context ctx, int status, ErrorCode error, String message, Exception e) {
    String code = error.code();
    if (status >= 500 && error != ErrorCode.NO_INDEX) { // no model yet: expected, not a fault
      log.error("{} {} failed with {}: {}", ctx.method(), ctx.path(), status, message, e);
    } else {
      log.debug(
          "{} {} refused with {} {}: {} ({})",
          ctx.method(),
          ctx.path(),
          status,
          code,
          message,
          e != null && e.getCause() != null ? e.getCause().getMessage() : "");
    }
    Counter.builder(ERRORS_COUNTER)
        .description("Requests answered with an error, by code")
        .tag("code", code)
        .register(registry)
        .increment();
    drainOrClose(ctx);
    ctx.status(status).json(Map.of("error", message == null ? code : message, "code", code));
  }

  /**
   * Reads and drops what is left of a refused request's body, up to twice the upload limit. Closing
   * a socket with unread input makes the kernel send a reset, and the client may then lose the
   * error response it has not read yet. A body larger than that gets {@code Connection: close}
   * instead.
   */
  private void drainOrClose(Context ctx) {
    if (ctx.attribute(CLOSE_CONNECTION) != null) {
      ctx.header("Connection", "close");
      return;
    }
    if (bodyFullyRead(ctx)) {
      return;
    }
    long left = 2 * maxUploadBytes + MULTIPART_OVERHEAD_BYTES;
    if (ctx.req().getContentLengthLong() <= left) {
      try {
        InputStream in = ctx.req().getInputStream();
        byte[] buffer = new byte[64 * 1024];
        int n;
        while (left > 0 && (n = in.read(buffer, 0, (int) Math.min(buffer.length, left))) >= 0) {
          left -= n;
        }
      } catch (IOException | RuntimeException e) {
        log.debug("Could not drain the request body: {}", e.toString());
      }
    }
    if (!bodyFullyRead(ctx)) {
      ctx.header("Connection", "close");
    }
  }

  private static boolean bodyFullyRead(Context ctx) {
    try {
      return ctx.req().getInputStream().isFinished();
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private UploadedFile uploadedImage(Context ctx) {
    UploadedFile file;
    try {
      List<UploadedFile> files = ctx.uploadedFiles("image");
      if (files.size() > 1) {
        // Which one was meant? Answering for the first would look like a right answer to a wrong
        // question.
        throw SearchException.badRequest("give one file part 'image', got " + files.size());
      }
      file = files.isEmpty() ? null : files.get(0);
    } catch (SearchException e) {
      throw e;
    } catch (Exception e) { // Jetty's ServletException passes through Kotlin undeclared
      // The multipart parser failed midway: what is left of the body cannot be drained reliably.
      ctx.attribute(CLOSE_CONNECTION, Boolean.TRUE);
      if (causedByTooLarge(e)) {
        throw SearchException.tooLarge(maxUploadBytes);
      }
      throw new SearchException(ErrorCode.BAD_REQUEST, "malformed multipart body", e);
    }
    return file;
  }

  /**
   * Reads at most the upload limit; a body still going past it (chunked, lying Content-Length) is
   * 413.
   */
  private byte[] readLimited(InputStream in) throws IOException {
    byte[] bytes = in.readNBytes((int) maxUploadBytes + 1);
    if (bytes.length > maxUploadBytes) {
      throw SearchException.tooLarge(maxUploadBytes);
    }
    return bytes;
  }

  private static boolean causedByTooLarge(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
      if (message.contains("413")
          || message.contains("exceed")
          || message.contains("too large")
          || message.contains("max file size")
          || message.contains("maxrequestsize")) {
        return true;
      }
    }
    return false;
  }

  private static float[] jsonVector(JsonNode node) {
    if (!node.isArray()) {
      throw new SearchException(ErrorCode.BAD_VECTOR, "vector must be an array of numbers");
    }
    float[] vector = new float[node.size()];
    for (int i = 0; i < vector.length; i++) {
      if (!node.get(i).isNumber()) {
        throw new SearchException(ErrorCode.BAD_VECTOR, "vector must be an array of numbers");
      }
      vector[i] = node.get(i).floatValue();
    }
    return vector;
  }

  private static String mediaType(String contentType) {
    if (contentType == null) {
      return "";
    }
    int semicolon = contentType.indexOf(';');
    return (semicolon < 0 ? contentType : contentType.substring(0, semicolon))
        .strip()
        .toLowerCase(Locale.ROOT);
  }

  private static Path realDir(Path dir) {
    if (dir == null) {
      return null;
    }
    try {
      return dir.toRealPath();
    } catch (IOException e) {
      throw new org.apache.kafka.common.config.ConfigException(
          GatewayConfig.IMAGES_ALLOWED_DIR_CONFIG,
          dir.toString(),
          "not a readable directory: " + e.getMessage());
    }
  }

  private static byte[] resource(String name) {
    try (InputStream in = GatewayServer.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read resource " + name, e);
    }
  }
}
