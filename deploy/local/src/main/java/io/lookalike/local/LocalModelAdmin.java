package io.lookalike.local;

import io.lookalike.gateway.ActiveModel;
import io.lookalike.gateway.ModelAdmin;
import io.lookalike.gateway.ModelStatus;
import io.lookalike.lifecycle.ModelPipelines;
import io.lookalike.lifecycle.QualityGate;
import java.util.List;

/** The local mode's model lifecycle behind the gateway's admin API: the pipelines and the quality gate. */
final class LocalModelAdmin implements ModelAdmin {

  private final ModelPipelines pipelines;
  private final String bootstrapServers;
  private final String productImagesTopic;

  LocalModelAdmin(ModelPipelines pipelines, String bootstrapServers, String productImagesTopic) {
    this.pipelines = pipelines;
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
    return pipelines.register(url, name);
  }

  @Override
  public Object progress(String modelId) {
    return pipelines.progress(modelId);
  }

  @Override
  public Object check(String modelId, int sample, long seed) {
    ActiveModel candidate = pipelines.pipeline(modelId).asActiveModel();
    ActiveModel current = pipelines.active();
    return QualityGate.check(bootstrapServers, productImagesTopic, candidate, current == null ? candidate : current,
        sample, seed);
  }

  @Override
  public ModelStatus activate(String modelId) {
    return pipelines.activate(modelId);
  }

  @Override
  public void drop(String modelId) {
    pipelines.drop(modelId);
  }
}
