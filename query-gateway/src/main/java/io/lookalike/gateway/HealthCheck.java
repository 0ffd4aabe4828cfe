package io.lookalike.gateway;

/**
 * One extra check reported by {@code GET /health}, e.g. the state of the local mode's Kafka Streams
 * apps.
 */
@FunctionalInterface
public interface HealthCheck {

  Status check();

  /** {@code up} false turns the whole gateway DOWN; {@code detail} is shown as is. */
  record Status(boolean up, String detail) {

    public static Status up(String detail) {
      return new Status(true, detail);
    }

    public static Status down(String detail) {
      return new Status(false, detail);
    }
  }
}
