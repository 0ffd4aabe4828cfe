package io.lookalike.gateway;

import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dynamic batching of concurrent query embeddings: callers enqueue their (normalised) photo and
 * wait; one thread takes up to {@code maxSize} waiting photos, at most {@code maxWaitMs} after the
 * first, and embeds them in one batched call per model, so that concurrent photo searches share a
 * forward pass. The queue is bounded (full: {@link ErrorCode#EMBED_BUSY}); each request gets its
 * own result or error. Hand-written: no library on the classpath batches calls into a list API with
 * a bounded wait (a JDK queue and one thread are all it takes).
 */
public final class EmbedBatcher implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EmbedBatcher.class);

  /** Metric names, exported by {@code GET /metrics} once bound to the gateway's registry. */
  static final String BATCH_SIZE_METRIC = "lookalike.gateway.embed.batch.size";

  static final String QUEUE_WAIT_METRIC = "lookalike.gateway.embed.queue.wait";
  static final String QUEUE_DEPTH_METRIC = "lookalike.gateway.embed.queue.depth";
  static final String REJECTED_METRIC = "lookalike.gateway.embed.rejected";

  private final int maxSize;
  private final long maxWaitNanos;
  private final BlockingQueue<Pending> queue;
  private final Thread thread;
  private final CompositeMeterRegistry meters = new CompositeMeterRegistry();
  private final DistributionSummary batchSizes;
  private final Timer queueWait;
  private final Counter rejected;

  /** Batched calls made (the meters record nothing until bound to a registry). */
  private final java.util.concurrent.atomic.AtomicLong batches =
      new java.util.concurrent.atomic.AtomicLong();

  /** Taken by the batcher while it collects a batch; holding it stops batches from forming. */
  private final Semaphore collecting = new Semaphore(1);

  private volatile boolean closed;

  /** A photo waiting for its vector. */
  private record Pending(
      Embedder embedder,
      byte[] photo,
      long enqueuedNanos,
      CompletableFuture<EmbeddingResult> out) {}

  /**
   * @param maxSize the most photos in one batch (at least 2; 1 means no batching: do not build one)
   * @param maxWaitMs how long a batch waits for more photos after its first
   * @param queueCapacity photos that may wait at once; more are refused
   */
  public EmbedBatcher(int maxSize, long maxWaitMs, int queueCapacity) {
    if (maxSize < 2 || maxWaitMs < 0 || queueCapacity < 1) {
      throw new IllegalArgumentException(
          "need maxSize >= 2, maxWaitMs >= 0, queueCapacity >= 1; got "
              + maxSize
              + ", "
              + maxWaitMs
              + ", "
              + queueCapacity);
    }
    this.maxSize = maxSize;
    this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(maxWaitMs);
    this.queue = new ArrayBlockingQueue<>(queueCapacity);
    this.batchSizes =
        DistributionSummary.builder(BATCH_SIZE_METRIC)
            .description("photos embedded together in one batched call")
            .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64)
            .register(meters);
    this.queueWait =
        Timer.builder(QUEUE_WAIT_METRIC)
            .description("time a query photo waited in the batcher's queue")
            .publishPercentiles(0.5, 0.99)
            .register(meters);
    this.rejected =
        Counter.builder(REJECTED_METRIC)
            .description("query photos refused because the batcher's queue was full")
            .register(meters);
    Gauge.builder(QUEUE_DEPTH_METRIC, queue, BlockingQueue::size)
        .description("query photos waiting to be embedded")
        .register(meters);
    this.thread = new Thread(this::loop, "lookalike-embed-batcher");
    thread.setDaemon(true);
    thread.start();
  }

  /** From the {@code gateway.embed.*} keys; null when batching is off (max size 1). */
  static EmbedBatcher from(GatewayConfig config) {
    int maxSize = config.getInt(GatewayConfig.EMBED_BATCH_MAX_SIZE_CONFIG);
    return maxSize <= 1
        ? null
        : new EmbedBatcher(
            maxSize,
            config.getLong(GatewayConfig.EMBED_BATCH_MAX_WAIT_MS_CONFIG),
            config.getInt(GatewayConfig.EMBED_QUEUE_MAX_CONFIG));
  }

  /** Exports the batch size distribution, queue wait and depth into {@code registry}. */
  public void bindTo(MeterRegistry registry) {
    meters.add(registry);
  }

  /**
   * Embeds one photo with {@code embedder} in the next batch and waits for it.
   *
   * @throws SearchException {@link ErrorCode#EMBED_BUSY} when the queue is full, {@link
   *     ErrorCode#INTERRUPTED} when the batcher is closed or the caller interrupted
   */
  public EmbeddingResult embed(Embedder embedder, byte[] photo) {
    CompletableFuture<EmbeddingResult> future = submit(embedder, photo);
    try {
      return future.get();
    } catch (InterruptedException e) {
      future.cancel(false);
      Thread.currentThread().interrupt();
      throw new SearchException(ErrorCode.INTERRUPTED, "interrupted while embedding the photo");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException("embedding failed", e.getCause());
    }
  }

  /** Enqueues one photo; the future completes with its result, or fails with a SearchException. */
  CompletableFuture<EmbeddingResult> submit(Embedder embedder, byte[] photo) {
    CompletableFuture<EmbeddingResult> future = new CompletableFuture<>();
    if (closed) {
      future.completeExceptionally(stopping());
      return future;
    }
    if (!queue.offer(new Pending(embedder, photo, System.nanoTime(), future))) {
      rejected.increment();
      future.completeExceptionally(
          new SearchException(
              ErrorCode.EMBED_BUSY,
              "too many photo searches are waiting to be embedded ("
                  + (queue.size() + queue.remainingCapacity())
                  + "); retry shortly"));
      return future;
    }
    if (closed) { // closed between the check and the offer: close() may have drained already
      failAll(stopping());
    }
    return future;
  }

  /** Photos waiting now. */
  int queued() {
    return queue.size();
  }

  /** Batched calls made so far, for tests and the benchmark. */
  long batches() {
    return batches.get();
  }

  /**
   * Stops batches from forming until the returned handle is closed: what is submitted meanwhile
   * waits in the queue. Lets a test decide which photos share a batch without timing.
   */
  AutoCloseable hold() throws InterruptedException {
    collecting.acquire();
    return collecting::release;
  }

  /** Stops the batcher: waiting and later requests fail with {@link ErrorCode#INTERRUPTED}. */
  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    failAll(stopping());
    meters.close();
  }

  private void loop() {
    List<Pending> batch = new ArrayList<>(maxSize);
    while (!closed) {
      batch.clear();
      try {
        collecting.acquire();
        try {
          Pending first = queue.poll(1, TimeUnit.SECONDS);
          if (first == null) {
            continue;
          }
          batch.add(first);
          long deadline = System.nanoTime() + maxWaitNanos;
          while (batch.size() < maxSize) {
            Pending next = queue.poll();
            if (next == null) {
              long left = deadline - System.nanoTime();
              next = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : null;
              if (next == null) {
                break;
              }
            }
            batch.add(next);
          }
        } finally {
          collecting.release();
        }
      } catch (InterruptedException e) {
        batch.forEach(p -> p.out().completeExceptionally(stopping()));
        break;
      }
      run(batch);
    }
  }

  /** One batched call per model in the batch (a model swap may leave two for a moment). */
  private void run(List<Pending> batch) {
    long now = System.nanoTime();
    Map<Embedder, List<Pending>> byModel = new IdentityHashMap<>();
    for (Pending p : batch) {
      queueWait.record(now - p.enqueuedNanos(), TimeUnit.NANOSECONDS);
      byModel.computeIfAbsent(p.embedder(), e -> new ArrayList<>()).add(p);
    }
    for (Map.Entry<Embedder, List<Pending>> group : byModel.entrySet()) {
      List<Pending> pending = group.getValue();
      batchSizes.record(pending.size());
      batches.incrementAndGet();
      try {
        List<EmbeddingResult> results =
            group.getKey().embed(pending.stream().map(Pending::photo).toList());
        for (int i = 0; i < pending.size(); i++) {
          pending.get(i).out().complete(results.get(i));
        }
      } catch (RuntimeException | Error e) {
        log.warn("A batch of {} query photos failed: {}", pending.size(), e.toString());
        pending.forEach(p -> p.out().completeExceptionally(e));
      }
    }
  }

  private void failAll(SearchException e) {
    for (Pending p; (p = queue.poll()) != null; ) {
      p.out().completeExceptionally(e);
    }
  }

  private static SearchException stopping() {
    return new SearchException(ErrorCode.INTERRUPTED, "the gateway is stopping");
  }
}
