package io.lookalike.gateway;

import io.lookalike.schemas.ChangeToken;

/**
 * Where the product versions of a read-your-writes token are (fetched, embedded, indexed per
 * model): {@code GET /v1/status?token=} answers with it, and a search with {@code consistentWith=}
 * waits on it. The local mode implements it; without one, both answer 501.
 */
public interface ChangeStatus {

  /** The body of {@code GET /v1/status}: a value Jackson can write. */
  Object status(ChangeToken token);

  /** Whether every change of the token is searchable in the active model's index. */
  boolean searchable(ChangeToken token);
}
