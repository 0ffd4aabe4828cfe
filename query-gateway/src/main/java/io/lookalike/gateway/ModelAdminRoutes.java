package io.lookalike.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The local mode's admin API for re-embedding, mounted on the gateway; answers only loopback
 * clients unless told otherwise, and every call must pass the {@link AdminGuard} (bearer secret,
 * own Host, no foreign Origin, JSON on changes), since a reverse proxy on the host makes every
 * client look local. The {@code lookalike reembed}, {@code models} and {@code drop} commands use
 * it. Below, {@code A='Authorization: Bearer <the secret in <data-dir>/admin.secret>'} and {@code
 * J='Content-Type: application/json'}.
 *
 * <pre>
 * # register a model and start replaying the catalog through it (idempotent: same weights, same model)
 * curl -H "$A" -H "$J" -d '{"url": "/models/next.pt", "name": "next"}' http://localhost:8080/v1/admin/models
 * # how far its replay is: records done / total, lag, vectors, rate
 * curl -H "$A" http://localhost:8080/v1/admin/models/next_1a2b3c4d/progress
 * # the quality gate: near-duplicate recall@1 and agreement with the active model on 100 sampled images
 * curl -H "$A" -H "$J" -d '{}' 'http://localhost:8080/v1/admin/models/next_1a2b3c4d/check?sample=100'
 * # switch searches to it (409 not_caught_up while it is replaying)
 * curl -H "$A" -H "$J" -d '{}' http://localhost:8080/v1/admin/models/next_1a2b3c4d/activate
 * # mark a model refused (what reembed does when the gate fails): it stops consuming unless keepWarm
 * curl -H "$A" -H "$J" -d '{"reason": "recall@1 0.24 below 0.9", "keepWarm": false}' http://localhost:8080/v1/admin/models/next_1a2b3c4d/refuse
 * # drop a model that is not active: its pipeline, index, topic and state
 * curl -H "$A" -H "$J" -X DELETE http://localhost:8080/v1/admin/models/mobilenet_v2_features_eac6fd98
 * </pre>
 */
public final class ModelAdminRoutes implements Consumer<RoutesConfig> {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final ModelAdmin pipelines;
  private final boolean allowRemote;
  private final AdminGuard guard;
  private final int maxSample;
  private final BoundedCall checks;

  public ModelAdminRoutes(
      ModelAdmin pipelines, boolean allowRemote, AdminGuard guard, GatewayConfig config) {
    this.pipelines = pipelines;
    this.allowRemote = allowRemote;
    this.guard = guard;
    this.maxSample = config.getInt(GatewayConfig.ADMIN_CHECK_MAX_SAMPLE_CONFIG);
    this.checks =
        new BoundedCall("check", config.getLong(GatewayConfig.ADMIN_CHECK_BUDGET_MS_CONFIG));
  }

  @Override
  public void accept(RoutesConfig routes) {
    routes.before("/v1/admin/*", this::onlyLoopback);
    routes.before("/v1/admin/*", guard::check);
    routes.post("/v1/admin/models", this::register);
    routes.get(
        "/v1/admin/models",
        ctx -> ctx.json(Map.of("active", activeId(), "models", pipelines.models())));
    routes.get(
        "/v1/admin/models/{modelId}/progress",
        ctx -> ctx.json(answer(() -> pipelines.progress(ctx.pathParam("modelId")))));
    routes.post("/v1/admin/models/{modelId}/check", this::check);
    routes.post("/v1/admin/models/{modelId}/activate", this::activate);
    routes.post("/v1/admin/models/{modelId}/refuse", this::refuse);
    routes.delete("/v1/admin/models/{modelId}", this::drop);
  }

  private void onlyLoopback(Context ctx) throws IOException {
    if (!allowRemote && !InetAddress.getByName(ctx.req().getRemoteAddr()).isLoopbackAddress()) {
      throw new SearchException(
          ErrorCode.FORBIDDEN, "the admin API answers only clients on this machine");
    }
  }

  private void register(Context ctx) throws IOException {
    JsonNode body;
    try {
      body = JSON.readTree(ctx.bodyAsBytes());
    } catch (IOException e) {
      throw SearchException.badRequest("invalid JSON: " + e.getMessage());
    }
    if (body == null || !body.hasNonNull("url") || body.get("url").asText().isBlank()) {
      throw SearchException.badRequest("give the model as {\"url\": \"...\", \"name\": \"...\"}");
    }
    String name = body.hasNonNull("name") ? body.get("name").asText() : null;
    ctx.json(answer(() -> pipelines.register(body.get("url").asText().strip(), name)));
  }

  private void check(Context ctx) {
    String modelId = ctx.pathParam("modelId");
    int sample = intParam(ctx, "sample", 100);
    long seed = intParam(ctx, "seed", 42);
    // Bounded: cancelled after the budget, or when the client hangs up. Category precision by
    // ?field= (default category).
    String field =
        ctx.queryParam("field") == null || ctx.queryParam("field").isBlank()
            ? "category"
            : ctx.queryParam("field");
    ctx.json(checks.run(ctx, () -> answer(() -> pipelines.check(modelId, sample, seed, field))));
  }

  private void activate(Context ctx) {
    String previous = activeId();
    var status = answer(() -> pipelines.activate(ctx.pathParam("modelId")));
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("active", status.modelId());
    body.put("previous", previous);
    ctx.json(body);
  }

  private void refuse(Context ctx) {
    JsonNode body;
    try {
      body = JSON.readTree(ctx.bodyAsBytes());
    } catch (IOException e) {
      throw SearchException.badRequest("invalid JSON: " + e.getMessage());
    }
    String reason = body != null && body.hasNonNull("reason") ? body.get("reason").asText() : null;
    boolean keepWarm = body != null && body.path("keepWarm").asBoolean(false);
    ctx.json(answer(() -> pipelines.refuse(ctx.pathParam("modelId"), reason, keepWarm)));
  }

  private void drop(Context ctx) {
    String modelId = ctx.pathParam("modelId");
    answer(
        () -> {
          pipelines.drop(modelId);
          return modelId;
        });
    ctx.json(Map.of("dropped", modelId));
  }

  private String activeId() {
    ActiveModel active = pipelines.active();
    return active == null ? null : active.modelId();
  }

  /** The admin's answer; its refusals as JSON errors with the status of their kind. */
  static <T> T answer(Supplier<T> call) {
    try {
      return call.get();
    } catch (ModelAdmin.Refused e) {
      ErrorCode code =
          ErrorCode.of(e.code())
              .orElse(
                  switch (e.kind()) {
                    case NOT_FOUND -> ErrorCode.NOT_FOUND;
                    case INVALID -> ErrorCode.BAD_REQUEST;
                    case CONFLICT -> ErrorCode.NOT_CAUGHT_UP;
                  });
      throw new SearchException(code, e.getMessage(), e);
    } catch (io.lookalike.schemas.registry.RegistryUnavailableException e) {
      // the sample's Confluent-framed photos could not be decoded: no check on fewer of them
      throw new SearchException(
          ErrorCode.REGISTRY_UNAVAILABLE,
          "quality check not run, retry once the schema registry answers: " + e.getMessage(),
          e);
    }
  }

  private int intParam(Context ctx, String name, int fallback) {
    String raw = ctx.queryParam(name);
    if (raw == null || raw.isBlank()) {
      return fallback;
    }
    try {
      int value = Integer.parseInt(raw.strip());
      if (value < 1 || value > maxSample) {
        throw new NumberFormatException();
      }
      return value;
    } catch (NumberFormatException e) {
      throw SearchException.badRequest(
          name
              + " must be a whole number between 1 and "
              + maxSample
              + " ("
              + GatewayConfig.ADMIN_CHECK_MAX_SAMPLE_CONFIG
              + "), got "
              + raw);
    }
  }
}
