package io.lookalike.gateway;

import io.lookalike.schemas.FreeSpace;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * The {@code GET /health} of a stage, one implementation for the local mode, the gateway and every
 * distributed stage: named checks, each UP, DEGRADED or DOWN; the stage is DOWN (503) when any
 * check is, DEGRADED (200, with the reason) when any is and none is down, else UP. The checks every
 * stage with local state or a lag adds are made here: {@link #disk} and {@link #progress}.
 * Thread-safe.
 */
public final class StageHealth implements HealthCheck {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(StageHealth.class);

  private final List<Map.Entry<String, HealthCheck>> checks = new CopyOnWriteArrayList<>();

  /** Adds a check; a check that throws counts as DOWN with the exception. */
  public StageHealth add(String name, HealthCheck check) {
    checks.add(Map.entry(name, check));
    return this;
  }

  /** Adds {@link #disk} and {@link #progress} under the names {@code disk} and {@code progress}. */
  public StageHealth addDiskAndProgress(
      FreeSpace dataDir, String what, LongSupplier lag, BooleanSupplier busy, HealthConfig rules) {
    if (dataDir != null) {
      add("disk", disk(dataDir));
    }
    if (lag != null) {
      add("progress", progress(what, lag, busy, rules.stuckAfterMs()));
    }
    return this;
  }

  /** Runs every check once, in the order added. */
  public Map<String, Status> checkAll() {
    Map<String, Status> result = new LinkedHashMap<>();
    for (Map.Entry<String, HealthCheck> check : checks) {
      Status status;
      try {
        status = check.getValue().check();
      } catch (RuntimeException e) {
        status = Status.down("check failed: " + e);
      }
      result.put(check.getKey(), status);
    }
    return result;
  }

  /** The stage as a whole: DOWN if any check is, DEGRADED if any is, the details of those. */
  @Override
  public Status check() {
    return overall(checkAll());
  }

  /** What {@link #check()} says of checks already run. */
  public static Status overall(Map<String, Status> statuses) {
    boolean up = statuses.values().stream().allMatch(Status::up);
    boolean degraded = statuses.values().stream().anyMatch(Status::degraded);
    StringBuilder detail = new StringBuilder();
    statuses.forEach(
        (name, status) -> {
          boolean notable = up ? status.degraded() : !status.up();
          if (notable || statuses.size() == 1) {
            detail
                .append(detail.length() == 0 ? "" : "; ")
                .append(name)
                .append(": ")
                .append(status.detail());
          }
        });
    return new Status(up, detail.length() == 0 ? "all checks up" : detail.toString(), degraded);
  }

  /**
   * DOWN, naming the directory and the free space, while the disk of {@code dataDir} has less than
   * its floor; UP with the MiB free otherwise.
   */
  public static HealthCheck disk(FreeSpace dataDir) {
    java.util.concurrent.atomic.AtomicBoolean full =
        new java.util.concurrent.atomic.AtomicBoolean();
    return () -> {
      String problem = dataDir.problem();
      // One log line each way, so that a full disk is in the log whoever polls /health.
      if (problem != null && full.compareAndSet(false, true)) {
        log.error("Disk nearly full: {}; /health is DOWN until there is room again", problem);
      } else if (problem == null && full.compareAndSet(true, false)) {
        log.info(
            "Disk has room again: {} MiB free in {}", dataDir.usableBytes() >> 20, dataDir.dir());
      }
      return problem == null
          ? Status.up(dataDir.usableBytes() / (1024 * 1024) + " MiB free in " + dataDir.dir())
          : Status.down(problem);
    };
  }

  /**
   * DOWN while {@code lag} stays above zero without going down for {@code stuckAfterMs} (see {@link
   * LagProgressCheck}); while {@code busy} (e.g. restoring a state store, which the Streams check
   * reports as DEGRADED) it counts as moving.
   */
  public static HealthCheck progress(
      String what, LongSupplier lag, BooleanSupplier busy, long stuckAfterMs) {
    return new LagProgressCheck(what, lag, stuckAfterMs).whileBusy(busy);
  }
}
