package io.lookalike.gateway;

import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/**
 * The rules of {@code GET /health} every stage shares ({@link StageHealth}): the free-space floor
 * of its data directory (the check {@code disk}) and how long its lag may stand still (the check
 * {@code progress}). One name for each in the local mode and in every distributed stage.
 */
public final class HealthConfig extends AbstractConfig {

  public static final String MIN_FREE_BYTES_CONFIG = "health.min.free.bytes";
  private static final String MIN_FREE_BYTES_DOC =
      "The least free space, in bytes, on the disk of a stage's data directory (the local mode's"
          + " --data-dir, a Streams stage's state.dir, a Lucene index's --data-dir): below it the stage refuses"
          + " to start, naming the directory, and its /health check 'disk' is DOWN (503) with the reason. 0: never.";

  /** The local mode's name for {@link #MIN_FREE_BYTES_CONFIG} before every stage had the check. */
  public static final String OLD_MIN_FREE_BYTES_CONFIG = "local.min.free.bytes";

  public static final String STUCK_AFTER_MS_CONFIG = "health.stuck.after.ms";
  private static final String STUCK_AFTER_MS_DOC =
      "How long a stage's lag (records it still has to read; in the local mode each model's images to"
          + " embed plus vectors to index) may stay above zero without going down before its /health check"
          + " 'progress' is DOWN (503), naming what is stuck. A Streams stage restoring its state counts as"
          + " moving (it is DEGRADED meanwhile).";

  public static final ConfigDef CONFIG_DEF =
      new ConfigDef()
          .define(
              MIN_FREE_BYTES_CONFIG,
              Type.LONG,
              256L * 1024 * 1024,
              Range.atLeast(0),
              Importance.MEDIUM,
              MIN_FREE_BYTES_DOC)
          .define(
              STUCK_AFTER_MS_CONFIG,
              Type.LONG,
              120_000L,
              Range.atLeast(1_000),
              Importance.LOW,
              STUCK_AFTER_MS_DOC);

  /**
   * @throws ConfigException for a value out of range, or for the old {@code local.min.free.bytes},
   *     naming the new key
   */
  public HealthConfig(Map<?, ?> props) {
    super(CONFIG_DEF, refuseOldKey(props), false);
  }

  private static Map<?, ?> refuseOldKey(Map<?, ?> props) {
    if (props.containsKey(OLD_MIN_FREE_BYTES_CONFIG)) {
      throw new ConfigException(
          OLD_MIN_FREE_BYTES_CONFIG
              + "="
              + props.get(OLD_MIN_FREE_BYTES_CONFIG)
              + " is no longer read: every stage now takes "
              + MIN_FREE_BYTES_CONFIG
              + " (same meaning, bytes)");
    }
    return props;
  }

  public long minFreeBytes() {
    return getLong(MIN_FREE_BYTES_CONFIG);
  }

  public long stuckAfterMs() {
    return getLong(STUCK_AFTER_MS_CONFIG);
  }
}
