package io.lookalike.ingest.connect;

import io.lookalike.schemas.PluginMetricsBridge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads the directory and the URL of a {@link CatalogFeedSourceConnector}, a batch per poll. */
public class CatalogFeedSourceTask extends SourceTask {

  private static final Logger log = LoggerFactory.getLogger(CatalogFeedSourceTask.class);

  /** Longest a poll blocks when there is nothing to read, so that stop() is never kept waiting. */
  private static final long IDLE_WAIT_MS = 200;

  private DirectoryFeed directory;
  private UrlFeed url;
  private int batchSize;
  private long intervalMs;
  private long nextScan;
  private volatile boolean stopping;
  private final MeterRegistry registry = new SimpleMeterRegistry();
  private PluginMetricsBridge pluginMetrics;

  @Override
  public void start(Map<String, String> props) {
    CatalogFeedConfig config = new CatalogFeedConfig(props);
    // the task's meters, shown as Connect plugin metrics (JMX):
    // kafka.connect:type=plugins,connector=NAME,task=0
    pluginMetrics = PluginMetricsBridge.of(() -> context.pluginMetrics(), registry);
    FeedRecords records = new FeedRecords(config, registry);
    records.registerSchema();
    batchSize = config.getInt(CatalogFeedConfig.BATCH_SIZE_CONFIG);
    intervalMs = config.getLong(CatalogFeedConfig.POLL_INTERVAL_MS_CONFIG);
    directory =
        config.dir().isEmpty()
            ? null
            : new DirectoryFeed(config, records, context.offsetStorageReader());
    url =
        config.url().isEmpty() ? null : new UrlFeed(config, records, context.offsetStorageReader());
    nextScan = 0;
    stopping = false;
  }

  @Override
  public List<SourceRecord> poll() throws InterruptedException {
    long now = System.currentTimeMillis();
    boolean due = now >= nextScan;
    if (due) {
      nextScan = now + intervalMs;
    }
    List<SourceRecord> out = new ArrayList<>();
    try {
      if (directory != null) {
        // Files not read to their end yet are read on every poll; the directory is listed on the
        // interval.
        directory.poll(out, batchSize, due);
      }
      if (url != null && out.size() < batchSize) {
        url.poll(out, batchSize, due);
      }
    } catch (IOException e) {
      // A feed that cannot be read now (network, permissions) is tried again at the next interval.
      log.warn("Could not read the catalog feed: {}", e.toString());
    } catch (RuntimeException e) {
      throw new ConnectException("Catalog feed task failed", e);
    }
    pluginMetrics.sync();
    if (out.isEmpty() && !stopping) {
      Thread.sleep(Math.max(1, Math.min(IDLE_WAIT_MS, nextScan - System.currentTimeMillis())));
      return null;
    }
    return out;
  }

  @Override
  public void stop() {
    stopping = true;
  }

  @Override
  public String version() {
    return CatalogFeedSourceConnector.VERSION;
  }
}
