package io.lookalike.gateway;

/**
 * What the admin API ({@link ModelAdminRoutes}) does with models. The model lifecycle implements it and the
 * launcher plugs it in, so the gateway needs none of the lifecycle's classes. Bodies are returned as values
 * Jackson can write.
 */
public interface ModelAdmin extends ModelDirectory {

  /** The model searches use now; null before the first one is ready. */
  ActiveModel active();

  /** Registers a model by URL and starts replaying the catalog through it (idempotent for the same weights). */
  ModelStatus register(String url, String name);

  /** How far a model's replay is. */
  Object progress(String modelId);

  /** The quality gate of a model against the active one, on {@code sample} sampled images. */
  Object check(String modelId, int sample, long seed);

  /** Switches searches to a model that has caught up. */
  ModelStatus activate(String modelId);

  /** Drops a model that is not active, and everything it made. */
  void drop(String modelId);
}
