package io.lookalike.gateway;

/**
 * What the admin API ({@link ModelAdminRoutes}) does with models. The model lifecycle implements it
 * and the launcher plugs it in, so the gateway needs none of the lifecycle's classes. Bodies are
 * returned as values Jackson can write; a refusal is a {@link Refused}, which the routes answer
 * with the HTTP status of its kind.
 */
public interface ModelAdmin extends ModelDirectory {

  /** The model searches use now; null before the first one is ready. */
  ActiveModel active();

  /**
   * Registers a model by URL and starts replaying the catalog through it (idempotent for the same
   * weights).
   */
  ModelStatus register(String url, String name);

  /** How far a model's replay is. */
  Object progress(String modelId);

  /**
   * The quality gate of a model against the active one, on {@code sample} sampled images; category
   * precision is measured on the metadata field {@code field}.
   */
  Object check(String modelId, int sample, long seed, String field);

  /** Switches searches to a model that has caught up. */
  ModelStatus activate(String modelId);

  /** Drops a model that is not active, and everything it made. */
  void drop(String modelId);

  /**
   * Marks a model refused (by the quality gate) with the reason; unless {@code keepWarm}, its
   * pipeline stops consuming until it is registered again.
   */
  ModelStatus refuse(String modelId, String reason, boolean keepWarm);

  /**
   * A request the lifecycle refuses: {@code code} is the stable reason (e.g. {@code
   * not_caught_up}).
   */
  final class Refused extends RuntimeException {

    /** What kind of refusal, which decides the HTTP status. */
    public enum Kind {
      /** No such model (404). */
      NOT_FOUND,
      /** The request cannot work as given, e.g. a model that does not load (400). */
      INVALID,
      /** Not now, in this state, e.g. switching to a model still catching up (409). */
      CONFLICT
    }

    private final Kind kind;
    private final String code;

    public Refused(Kind kind, String code, String message, Throwable cause) {
      super(message, cause);
      this.kind = kind;
      this.code = code;
    }

    public Kind kind() {
      return kind;
    }

    public String code() {
      return code;
    }
  }
}
