package io.lookalike.gateway;

/**
 * One extra check reported by {@code GET /health}, e.g. the state of the local mode's Kafka Streams
 * apps.
 */
@FunctionalInterface
public interface HealthCheck {

  Status check();

  /**
   * {@code up} false turns the whole gateway DOWN (503); {@code degraded} (while up) makes it
   * DEGRADED, still 200: working, but not all of it, e.g. a Kafka Streams app restoring its state;
   * {@code detail} is shown as is.
   */
  record Status(boolean up, String detail, boolean degraded) {

    public Status(boolean up, String detail) {
      this(up, detail, false);
    }

    public static Status up(String detail) {
      return new Status(true, detail);
    }

    public static Status down(String detail) {
      return new Status(false, detail);
    }

    /** Up (200), but not all of it: the word DEGRADED and the reason. */
    public static Status degraded(String detail) {
      return new Status(true, detail, true);
    }

    /** UP, DEGRADED or DOWN. */
    public String word() {
      return !up ? "DOWN" : degraded ? "DEGRADED" : "UP";
    }
  }
}
