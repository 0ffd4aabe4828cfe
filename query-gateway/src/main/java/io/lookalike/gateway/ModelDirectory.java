package io.lookalike.gateway;

import java.util.List;

/** Tells the gateway which models exist besides the active one, for {@code GET /v1/models}. */
@FunctionalInterface
public interface ModelDirectory {

  /** Every known model, the active one included. */
  List<ModelStatus> models();
}
