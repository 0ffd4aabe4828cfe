package io.lookalike.gateway;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A search's image URL download with a time budget for all of it, retries included ({@code
 * gateway.fetch.budget.ms}): the fetcher's retry policy suits a pipeline (minutes per image are
 * fine), not a storefront waiting on an answer. Past the budget the download is interrupted and the
 * search fails with {@code fetch_timeout}.
 */
final class BudgetedUrlFetcher implements UrlFetcher {

  private static final ExecutorService DOWNLOADS =
      Executors.newCachedThreadPool(
          new java.util.concurrent.ThreadFactory() {
            private final AtomicInteger n = new AtomicInteger();

            @Override
            public Thread newThread(Runnable r) {
              Thread t = new Thread(r, "lookalike-query-fetch-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            }
          });

  private final UrlFetcher fetcher;
  private final long budgetMs;

  BudgetedUrlFetcher(UrlFetcher fetcher, long budgetMs) {
    this.fetcher = fetcher;
    this.budgetMs = budgetMs;
  }

  @Override
  public byte[] fetch(String url) {
    Future<byte[]> download = DOWNLOADS.submit(() -> fetcher.fetch(url));
    try {
      return download.get(budgetMs, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      download.cancel(true);
      throw SearchException.rejectedImage(
          "fetch_timeout", "fetching the image URL took over " + budgetMs + " ms", e);
    } catch (InterruptedException e) {
      download.cancel(true);
      Thread.currentThread().interrupt();
      throw SearchException.rejectedImage("fetch_timeout", "interrupted", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw SearchException.rejectedImage(
          "fetch_failed", "the image URL could not be fetched", e.getCause());
    }
  }
}
