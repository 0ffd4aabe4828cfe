package io.lookalike.schemas;

import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Statistic;
import io.micrometer.core.instrument.Tag;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Gauge;
import org.apache.kafka.common.metrics.PluginMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shows a task's Micrometer meters as Kafka Connect plugin metrics (KIP-877, Kafka 4.1+), so that
 * they are JMX MBeans of the worker, {@code kafka.connect:type=plugins,connector=NAME,task=N},
 * beside Connect's own: meter {@code lookalike.indexer.upserts} with tag model=m becomes attribute
 * {@code lookalike-indexer-upserts-count} of the MBean with {@code model=m} added to its name. Both
 * plugins use it (each bundles this jar). Meters registered later (a new reason of rejection) are
 * added at the next {@link #sync()}.
 */
public final class PluginMetricsBridge {

  private static final Logger log = LoggerFactory.getLogger(PluginMetricsBridge.class);

  private final PluginMetrics metrics;
  private final MeterRegistry registry;
  private final Set<Meter.Id> exported = new HashSet<>();

  private PluginMetricsBridge(PluginMetrics metrics, MeterRegistry registry) {
    this.metrics = metrics;
    this.registry = registry;
  }

  /**
   * The bridge of a task, given {@code () -> context.pluginMetrics()}; one that exports nothing on
   * a worker without plugin metrics (before Kafka 4.1).
   */
  public static PluginMetricsBridge of(
      Supplier<PluginMetrics> pluginMetrics, MeterRegistry registry) {
    PluginMetrics metrics = null;
    try {
      metrics = pluginMetrics.get();
    } catch (NoSuchMethodError | NoClassDefFoundError | UnsupportedOperationException e) {
      log.info(
          "This Connect worker has no plugin metrics (Kafka < 4.1): the task's metrics are not exported");
    }
    PluginMetricsBridge bridge = new PluginMetricsBridge(metrics, registry);
    bridge.sync();
    return bridge;
  }

  /** Adds the meters not exported yet. */
  public void sync() {
    if (metrics == null) {
      return;
    }
    for (Meter meter : registry.getMeters()) {
      if (!exported.add(meter.getId())) {
        continue;
      }
      LinkedHashMap<String, String> tags = new LinkedHashMap<>();
      for (Tag tag : meter.getId().getTags()) {
        tags.put(tag.getKey(), tag.getValue());
      }
      String description =
          meter.getId().getDescription() == null
              ? meter.getId().getName()
              : meter.getId().getDescription();
      for (Measurement measurement : meter.measure()) {
        Statistic statistic = measurement.getStatistic();
        String name =
            meter.getId().getName().replace('.', '-')
                + "-"
                + statistic.getTagValueRepresentation().replace('_', '-');
        MetricName metricName =
            metrics.metricName(
                name,
                description
                    + " ("
                    + statistic.getTagValueRepresentation()
                    + (meter.getId().getBaseUnit() == null
                        ? ""
                        : ", " + meter.getId().getBaseUnit())
                    + ")",
                tags);
        metrics.addMetric(metricName, (Gauge<Double>) (config, now) -> current(meter, statistic));
      }
    }
  }

  private static double current(Meter meter, Statistic statistic) {
    for (Measurement measurement : meter.measure()) {
      if (measurement.getStatistic() == statistic) {
        return measurement.getValue();
      }
    }
    return Double.NaN;
  }
}
