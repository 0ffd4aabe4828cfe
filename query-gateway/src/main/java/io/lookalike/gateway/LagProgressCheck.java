package io.lookalike.gateway;

import java.util.function.BooleanSupplier;
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
  private volatile BooleanSupplier busy = () -> false;
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

  /**
   * While {@code busy} says so the lag counts as moving, e.g. while a Streams app restores its
   * stores (reported DEGRADED by its own check, and not to be restarted for it).
   */
  public LagProgressCheck whileBusy(BooleanSupplier busy) {
    this.busy = busy == null ? () -> false : busy;
    return this;
  }

  @Override
  public synchronized Status check() {
    long now = clockMs.getAsLong();
    long current = lag.getAsLong();
    if (current < 0) {
      return Status.down(what + ": cannot read its lag");
    }
    if (current == 0 || lastLag < 0 || current < lastLag || busy.getAsBoolean()) {
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
