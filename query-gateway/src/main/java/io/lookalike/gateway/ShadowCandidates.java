package io.lookalike.gateway;

import java.util.List;

/**
 * The models besides the active one that live searches are mirrored to ({@link ShadowTraffic}): the
 * model lifecycle implements it, so the gateway needs none of its classes.
 */
public interface ShadowCandidates {

  /**
   * The models to mirror live searches to now, each with the embedder and index it would search
   * with: registered, not active, not refused (catching up, or caught up and waiting for the
   * switch). Called for every mirrored search: must be cheap (no broker calls).
   */
  List<ActiveModel> shadowed();

  /**
   * Whether the model is still registered; the shadow statistics of a model that is not are
   * forgotten.
   */
  boolean known(String modelId);
}
