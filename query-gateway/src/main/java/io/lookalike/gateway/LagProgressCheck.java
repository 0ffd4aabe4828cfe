package io.lookalike.gateway;

import java.util.function.LongSupplier;

/**
 * A stage that is stuck: DOWN while its lag (records left) stays above zero and has not gone down
 * for {@code stuckAfterMs}, e.g. behind a hanging transaction; UP while it is caught up or its lag
 * falls. The lag is sampled when the check runs (each {@code GET /health}), so a decrease between
 * two checks far apart counts as progress. Thread-safe.
 */
public final class LagProgressCheck implements HealthCheck {

  private final String what;
  private final LongSupplier lag;
  private final long stuckAfterMs;
  private final LongSupplier clockMs;
  private long lastLag = -1;
  private long lastProgressMs;

  public LagProgressCheck(String what, LongSupplier lag, long stuckAfterMs) {
    this(what, lag, stuckAfterMs, System::currentTimeMillis);
  }

  LagProgressCheck(String what, LongSupplier lag, long stuckAfterMs, LongSupplier clockMs) {
    this.what = what;
    this.lag = lag;
    this.stuckAfterMs = stuckAfterMs;
    this.clockMs = clockMs;
    this.lastProgressMs = clockMs.getAsLong();
  }

  @Override
  public synchronized Status check() {
    long now = clockMs.getAsLong();
    long current = lag.getAsLong();
    if (current < 0) {
      return Status.down(what + ": cannot read its lag");
    }
    if (current == 0 || lastLag < 0 || current < lastLag) {
      lastProgressMs = now;
    }
    lastLag = current;
    long still = now - lastProgressMs;
    if (current > 0 && still >= stuckAfterMs) {
      return Status.down(
          what
              + ": stuck, lag "
              + current
              + " has not gone down for "
              + still / 1000
              + " s (blocked, or falling behind its input)");
    }
    return Status.up(what + ": lag " + current);
  }
}
