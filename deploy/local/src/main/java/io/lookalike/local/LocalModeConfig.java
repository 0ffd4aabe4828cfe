package io.lookalike.local;

import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

/** Settings of the local mode itself: free space and the stuck-pipeline rule of its /health. */
public final class LocalModeConfig extends AbstractConfig {

  public static final String MIN_FREE_BYTES_CONFIG = "local.min.free.bytes";
  private static final String MIN_FREE_BYTES_DOC =
      "The least free space on the data directory's disk, in bytes, to "
          + "start with (below it the local mode refuses to start, naming the directory) and to stay healthy "
          + "(the /health check 'disk').";

  public static final String STUCK_AFTER_MS_CONFIG = "health.stuck.after.ms";
  private static final String STUCK_AFTER_MS_DOC =
      "How long a model's lag (images to embed plus vectors to index) "
          + "may stay above zero without going down before /health is DOWN for that model (the check 'progress').";

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

  public LocalModeConfig(Map<?, ?> props) {
    super(CONFIG_DEF, props, false);
  }

  public long minFreeBytes() {
    return getLong(MIN_FREE_BYTES_CONFIG);
  }

  public long stuckAfterMs() {
    return getLong(STUCK_AFTER_MS_CONFIG);
  }
}
