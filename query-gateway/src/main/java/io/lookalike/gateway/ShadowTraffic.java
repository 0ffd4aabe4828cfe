package io.lookalike.gateway;

import io.lookalike.model.Embedder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shadow traffic: a share ({@code gateway.shadow.share}) of live searches is also run against each
 * candidate model's index (registered, not active, not refused), on a bounded pool of its own
 * ({@code gateway.shadow.threads}, {@code gateway.shadow.queue.max}), after the live answer is
 * made: a full queue drops the shadow search (counted), never the live one. A photo search embeds
 * the photo again with the candidate's own model on that pool. Each candidate's answers are
 * compared with the live ones: top-1 agreement (same first product), top-10 overlap (shared
 * products among the first min(10, k) of both) and score shift (candidate's top-1 score minus the
 * live one), shown in {@code GET /v1/models}, in {@code /metrics} ({@code lookalike.shadow.*},
 * tagged by model) and by {@code lookalike reembed}, which can require them before the switch.
 */
public final class ShadowTraffic implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ShadowTraffic.class);

  static final String SEARCHES_METRIC = "lookalike.shadow.searches";
  static final String TOP1_METRIC = "lookalike.shadow.top1.agreement";
  static final String OVERLAP_METRIC = "lookalike.shadow.top10.overlap";
  static final String SHIFT_METRIC = "lookalike.shadow.score.shift";

  /** How many of the first products the overlap compares (fewer when k is smaller). */
  static final int OVERLAP_DEPTH = 10;

  /** The same search, against a candidate; run on the shadow pool. */
  @FunctionalInterface
  public interface Query {
    /**
     * @return the candidate's answer, or null when it cannot be asked (e.g. a product its index
     *     does not hold yet): counted as skipped
     */
    SearchResponse against(ActiveModel candidate);
  }

  /**
   * One candidate's agreement with the live answers so far; the means are null until a search was
   * compared.
   *
   * @param against the live model the candidate's answers were compared with
   * @param queries shadow searches compared
   * @param top1Agreement share of them whose first product is the live one's
   * @param top10Overlap mean share of the first min(10, k) products found in both
   * @param scoreShift mean of the candidate's top-1 score minus the live top-1 score
   * @param dropped shadow searches not run because the queue was full
   * @param failed shadow searches that failed (e.g. the candidate could not read the photo)
   * @param skipped shadow searches that could not be asked (a product not in its index yet, or no
   *     live result to compare with)
   */
  public record Summary(
      String against,
      long queries,
      Double top1Agreement,
      Double top10Overlap,
      Double scoreShift,
      long dropped,
      long failed,
      long skipped) {}

  private final double share;
  private final ShadowCandidates candidates;
  private final ThreadPoolExecutor pool;
  private final Map<String, Stats> stats = new ConcurrentHashMap<>();
  private volatile MeterRegistry registry;

  /**
   * @param share of live searches mirrored, 0..1
   * @param threads that run shadow searches
   * @param queueMax shadow searches that may wait; more are dropped
   */
  public ShadowTraffic(double share, int threads, int queueMax, ShadowCandidates candidates) {
    if (!(share >= 0 && share <= 1) || threads < 1 || queueMax < 1) {
      throw new IllegalArgumentException(
          "need 0 <= share <= 1, threads >= 1, queueMax >= 1; got "
              + share
              + ", "
              + threads
              + ", "
              + queueMax);
    }
    this.share = share;
    this.candidates = candidates;
    AtomicInteger n = new AtomicInteger();
    this.pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            30,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(queueMax),
            r -> {
              Thread t = new Thread(r, "lookalike-shadow-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            },
            new ThreadPoolExecutor.AbortPolicy());
    pool.allowCoreThreadTimeOut(true);
  }

  /** From the {@code gateway.shadow.*} keys. */
  static ShadowTraffic from(GatewayConfig config, ShadowCandidates candidates) {
    return new ShadowTraffic(
        config.getDouble(GatewayConfig.SHADOW_SHARE_CONFIG),
        config.getInt(GatewayConfig.SHADOW_THREADS_CONFIG),
        config.getInt(GatewayConfig.SHADOW_QUEUE_MAX_CONFIG),
        candidates);
  }

  /** Exports the {@code lookalike.shadow.*} meters of every candidate from now on. */
  public void bindTo(MeterRegistry registry) {
    this.registry = registry;
    stats.values().forEach(s -> s.register(registry));
  }

  public double share() {
    return share;
  }

  /**
   * Mirrors a live search to every candidate, for the configured share of searches. Returns at
   * once; never throws.
   *
   * @param live the model that gave {@code answer}
   */
  public void mirror(ActiveModel live, SearchResponse answer, Query query) {
    try {
      if (share <= 0 || (share < 1 && ThreadLocalRandom.current().nextDouble() >= share)) {
        return;
      }
      forgetStale(live.modelId());
      for (ActiveModel candidate : candidates.shadowed()) {
        if (candidate.modelId().equals(live.modelId())) {
          continue;
        }
        Stats s = statsFor(candidate, live.modelId());
        try {
          pool.execute(() -> run(s, candidate, answer, query));
        } catch (RejectedExecutionException e) {
          s.dropped();
        }
      }
    } catch (RuntimeException e) {
      log.debug("Could not mirror a search", e);
    }
  }

  /** The candidate's agreement so far, or null when none was measured against the live model. */
  public Summary summary(String modelId, String liveModelId) {
    forgetStale(liveModelId);
    Stats s = stats.get(modelId);
    return s == null ? null : s.summary();
  }

  private void run(Stats s, ActiveModel candidate, SearchResponse answer, Query query) {
    try {
      List<SearchResponse.Match> live = answer.results();
      if (live.isEmpty()) {
        s.skipped();
        return;
      }
      SearchResponse shadow = query.against(candidate);
      if (shadow == null) {
        s.skipped();
        return;
      }
      s.compared(live, shadow.results());
    } catch (RuntimeException e) {
      log.debug("Shadow search against {} failed", candidate.modelId(), e);
      s.failed();
    }
  }

  private Stats statsFor(ActiveModel candidate, String liveModelId) {
    return stats.compute(
        candidate.modelId(),
        (id, old) -> {
          if (old != null
              && old.embedder == candidate.embedder()
              && old.against.equals(liveModelId)) {
            return old;
          }
          // A model registered again, or a new live model: the old numbers measured something else.
          if (old != null) {
            old.unregister();
          }
          Stats fresh = new Stats(id, liveModelId, candidate.embedder());
          MeterRegistry r = registry;
          if (r != null) {
            fresh.register(r);
          }
          return fresh;
        });
  }

  /** Forgets the candidates no longer registered, the live model's own, and those of another. */
  private void forgetStale(String liveModelId) {
    for (Stats s : List.copyOf(stats.values())) {
      if (s.modelId.equals(liveModelId)
          || !s.against.equals(liveModelId)
          || !candidates.known(s.modelId)) {
        if (stats.remove(s.modelId, s)) {
          s.unregister();
        }
      }
    }
  }

  /** Stops the pool; shadow searches still queued are not run. */
  @Override
  public void close() {
    pool.shutdownNow();
  }

  /** One candidate's numbers and meters. */
  private static final class Stats {
    private final String modelId;
    private final String against;
    private final Embedder embedder;
    private final List<Meter> meters = new ArrayList<>();
    private volatile MeterRegistry registry;
    private long queries;
    private long top1;
    private double overlapSum;
    private double shiftSum;
    private long shifts;
    private long dropped;
    private long failed;
    private long skipped;
    private Counter comparedCounter;
    private Counter droppedCounter;
    private Counter failedCounter;
    private Counter skippedCounter;

    Stats(String modelId, String against, Embedder embedder) {
      this.modelId = modelId;
      this.against = against;
      this.embedder = embedder;
    }

    synchronized void register(MeterRegistry r) {
      if (registry != null) {
        return;
      }
      registry = r;
      comparedCounter = counter(r, "compared");
      droppedCounter = counter(r, "dropped");
      failedCounter = counter(r, "failed");
      skippedCounter = counter(r, "skipped");
      gauge(r, TOP1_METRIC, "Share of shadow searches whose first product is the live one's", 0);
      gauge(r, OVERLAP_METRIC, "Mean share of the first 10 products in both answers", 1);
      gauge(r, SHIFT_METRIC, "Mean candidate top-1 score minus the live top-1 score", 2);
    }

    private Counter counter(MeterRegistry r, String outcome) {
      Counter c =
          Counter.builder(SEARCHES_METRIC)
              .description("Live searches mirrored to a candidate model, by outcome")
              .tag("model", modelId)
              .tag("outcome", outcome)
              .register(r);
      meters.add(c);
      return c;
    }

    private void gauge(MeterRegistry r, String name, String description, int which) {
      meters.add(
          Gauge.builder(name, this, s -> s.mean(which))
              .description(description)
              .tag("model", modelId)
              .register(r));
    }

    synchronized void unregister() {
      MeterRegistry r = registry;
      if (r != null) {
        meters.forEach(r::remove);
      }
      meters.clear();
      registry = null;
    }

    synchronized void compared(List<SearchResponse.Match> live, List<SearchResponse.Match> shadow) {
      queries++;
      if (!shadow.isEmpty() && shadow.get(0).productId().equals(live.get(0).productId())) {
        top1++;
      }
      int depth = Math.min(OVERLAP_DEPTH, live.size());
      Set<String> first = new HashSet<>();
      for (SearchResponse.Match m : live.subList(0, depth)) {
        first.add(m.productId());
      }
      int shared = 0;
      for (SearchResponse.Match m : shadow.subList(0, Math.min(depth, shadow.size()))) {
        if (first.contains(m.productId())) {
          shared++;
        }
      }
      overlapSum += (double) shared / depth;
      if (!shadow.isEmpty()) {
        shiftSum += shadow.get(0).score() - live.get(0).score();
        shifts++;
      }
      increment(comparedCounter);
    }

    synchronized void dropped() {
      dropped++;
      increment(droppedCounter);
    }

    synchronized void failed() {
      failed++;
      increment(failedCounter);
    }

    synchronized void skipped() {
      skipped++;
      increment(skippedCounter);
    }

    private static void increment(Counter c) {
      if (c != null) {
        c.increment();
      }
    }

    synchronized double mean(int which) {
      return switch (which) {
        case 0 -> queries == 0 ? Double.NaN : (double) top1 / queries;
        case 1 -> queries == 0 ? Double.NaN : overlapSum / queries;
        default -> shifts == 0 ? Double.NaN : shiftSum / shifts;
      };
    }

    synchronized Summary summary() {
      return new Summary(
          against,
          queries,
          queries == 0 ? null : mean(0),
          queries == 0 ? null : mean(1),
          shifts == 0 ? null : mean(2),
          dropped,
          failed,
          skipped);
    }
  }
}
