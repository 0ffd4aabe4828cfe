package io.lookalike.local;

import io.lookalike.gateway.ActiveModel;
import io.lookalike.gateway.ModelAdmin;
import io.lookalike.gateway.ModelStatus;
import io.lookalike.lifecycle.ModelLifecycleException;
import io.lookalike.lifecycle.ModelPipelines;
import io.lookalike.lifecycle.QualityGate;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import java.util.List;
import java.util.function.Supplier;

/**
 * The local mode's model lifecycle behind the gateway's admin API: the pipelines and the quality
 * gate. The lifecycle's refusals become the gateway's {@link ModelAdmin.Refused}, which the gateway
 * answers over HTTP.
 */
final class LocalModelAdmin implements ModelAdmin {

  private final ModelPipelines pipelines;
  private final String bootstrapServers;
  private final String productImagesTopic;
  private final SchemaRegistryClient schemaRegistry;

  LocalModelAdmin(
      ModelPipelines pipelines,
      String bootstrapServers,
      String productImagesTopic,
      SchemaRegistryClient schemaRegistry) {
    this.pipelines = pipelines;
    this.schemaRegistry = schemaRegistry;
    this.bootstrapServers = bootstrapServers;
    this.productImagesTopic = productImagesTopic;
  }

  @Override
  public List<ModelStatus> models() {
    return pipelines.models();
  }

  @Override
  public ActiveModel active() {
    return pipelines.active();
  }

  @Override
  public ModelStatus register(String url, String name) {
    return refusals(() -> pipelines.register(url, name));
  }

  @Override
  public Object progress(String modelId) {
    return refusals(() -> pipelines.progress(modelId));
  }

  @Override
  public Object check(String modelId, int sample, long seed, String field) {
    ActiveModel candidate = refusals(() -> pipelines.pipeline(modelId).asActiveModel());
    ActiveModel current = pipelines.active();
    return QualityGate.check(
        bootstrapServers,
        productImagesTopic,
        candidate,
        current == null ? candidate : current,
        sample,
        seed,
        field,
        schemaRegistry);
  }

  @Override
  public ModelStatus activate(String modelId) {
    return refusals(() -> pipelines.activate(modelId));
  }

  @Override
  public void drop(String modelId) {
    refusals(
        () -> {
          pipelines.drop(modelId);
          return modelId;
        });
  }

  @Override
  public ModelStatus refuse(String modelId, String reason, boolean keepWarm) {
    return refusals(() -> pipelines.refuse(modelId, reason, keepWarm));
  }

  private static <T> T refusals(Supplier<T> call) {
    try {
      return call.get();
    } catch (ModelLifecycleException e) {
      ModelAdmin.Refused.Kind kind =
          switch (e.reason()) {
            case UNKNOWN_MODEL -> ModelAdmin.Refused.Kind.NOT_FOUND;
            case BAD_MODEL -> ModelAdmin.Refused.Kind.INVALID;
            case NOT_CAUGHT_UP, ACTIVE_MODEL, REFUSED_MODEL -> ModelAdmin.Refused.Kind.CONFLICT;
          };
      throw new ModelAdmin.Refused(kind, e.reason().code(), e.getMessage(), e);
    }
  }
}
