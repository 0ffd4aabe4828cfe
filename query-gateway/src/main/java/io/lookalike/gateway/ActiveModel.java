package io.lookalike.gateway;

import io.lookalike.model.Embedder;
import io.lookalike.store.VectorStore;
import java.util.Objects;

/**
 * The model searches use now: the embedder that turns query photos into vectors and the index of
 * the same model's vectors. Swapped as one value, so a search never embeds with one model and
 * searches another.
 */
public record ActiveModel(Embedder embedder, VectorStore store) {

  public ActiveModel {
    Objects.requireNonNull(embedder, "embedder");
    Objects.requireNonNull(store, "store");
  }

  /** The model queries are embedded with. */
  public String modelId() {
    return embedder.model().modelId();
  }
}
