package io.lookalike.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.lookalike.gateway.ActiveModel;
import io.lookalike.gateway.SearchException;
import java.io.IOException;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The local mode's admin API for re-embedding, mounted on the gateway; answers only loopback clients
 * unless told otherwise. The {@code lookalike reembed}, {@code models} and {@code drop} commands use it.
 *
 * <pre>
 * # register a model and start replaying the catalog through it (idempotent: same weights, same model)
 * curl -H 'Content-Type: application/json' -d '{"url": "/models/next.pt", "name": "next"}' http://localhost:8080/v1/admin/models
 * # how far its replay is: records done / total, lag, vectors, rate
 * curl http://localhost:8080/v1/admin/models/next_1a2b3c4d/progress
 * # the quality gate: near-duplicate recall@1 and agreement with the active model on 100 sampled images
 * curl -X POST 'http://localhost:8080/v1/admin/models/next_1a2b3c4d/check?sample=100'
 * # switch searches to it (409 not_caught_up while it is replaying)
 * curl -X POST http://localhost:8080/v1/admin/models/next_1a2b3c4d/activate
 * # drop a model that is not active: its pipeline, index, topic and state
 * curl -X DELETE http://localhost:8080/v1/admin/models/mobilenet_v2_features_eac6fd98
 * </pre>
 */
public final class ModelAdminRoutes implements Consumer<RoutesConfig> {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_SAMPLE = 10_000;

  private final ModelPipelines pipelines;
  private final String bootstrapServers;
  private final String productImagesTopic;
  private final boolean allowRemote;

  public ModelAdminRoutes(ModelPipelines pipelines, String bootstrapServers, String productImagesTopic,
      boolean allowRemote) {
    this.pipelines = pipelines;
    this.bootstrapServers = bootstrapServers;
    this.productImagesTopic = productImagesTopic;
    this.allowRemote = allowRemote;
  }

  @Override
  public void accept(RoutesConfig routes) {
    routes.before("/v1/admin/*", this::onlyLoopback);
    routes.post("/v1/admin/models", this::register);
    routes.get("/v1/admin/models", ctx -> ctx.json(Map.of("active", activeId(), "models", pipelines.models())));
    routes.get("/v1/admin/models/{modelId}/progress", ctx -> ctx.json(pipelines.progress(ctx.pathParam("modelId"))));
    routes.post("/v1/admin/models/{modelId}/check", this::check);
    routes.post("/v1/admin/models/{modelId}/activate", this::activate);
    routes.delete("/v1/admin/models/{modelId}", this::drop);
  }

  private void onlyLoopback(Context ctx) throws IOException {
    if (!allowRemote && !InetAddress.getByName(ctx.req().getRemoteAddr()).isLoopbackAddress()) {
      throw new SearchException(403, "forbidden", "the admin API answers only clients on this machine");
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
    ctx.json(pipelines.register(body.get("url").asText().strip(), name));
  }

  private void check(Context ctx) {
    String modelId = ctx.pathParam("modelId");
    int sample = intParam(ctx, "sample", 100);
    long seed = intParam(ctx, "seed", 42);
    ActiveModel candidate = pipelines.pipeline(modelId).asActiveModel();
    ActiveModel current = pipelines.active();
    String field = ctx.queryParam("field") == null ? ShopperChecks.DEFAULT_FIELD : ctx.queryParam("field");
    ctx.json(QualityGate.check(bootstrapServers, productImagesTopic, candidate, current == null ? candidate : current,
        sample, seed, field));
  }

  private void activate(Context ctx) {
    String previous = activeId();
    var status = pipelines.activate(ctx.pathParam("modelId"));
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("active", status.modelId());
    body.put("previous", previous);
    ctx.json(body);
  }

  private void drop(Context ctx) {
    String modelId = ctx.pathParam("modelId");
    pipelines.drop(modelId);
    ctx.json(Map.of("dropped", modelId));
  }

  private String activeId() {
    ActiveModel active = pipelines.active();
    return active == null ? null : active.modelId();
  }

  private static int intParam(Context ctx, String name, int fallback) {
    String raw = ctx.queryParam(name);
    if (raw == null || raw.isBlank()) {
      return fallback;
    }
    try {
      int value = Integer.parseInt(raw.strip());
      if (value < 1 || value > MAX_SAMPLE) {
        throw new NumberFormatException();
      }
      return value;
    } catch (NumberFormatException e) {
      throw SearchException.badRequest(name + " must be a whole number between 1 and " + MAX_SAMPLE + ", got " + raw);
    }
  }
}
