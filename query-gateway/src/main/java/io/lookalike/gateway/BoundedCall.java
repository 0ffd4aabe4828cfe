package io.lookalike.gateway;

import io.javalin.http.Context;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Long work of one HTTP call (a model's quality check) with a budget: it runs on a thread of its
 * own and is cancelled (interrupted) when the budget is spent ({@code 503 <name>_timeout}) or when
 * Jetty sees the client go ({@code 499}, unread), so that a client that left does not keep a core
 * busy for minutes.
 */
public final class BoundedCall {

  private static final Logger log = LoggerFactory.getLogger(BoundedCall.class);

  private static final long POLL_MS = 250;

  private final String name;
  private final long budgetMs;
  private final ExecutorService executor;

  public BoundedCall(String name, long budgetMs) {
    this.name = name;
    this.budgetMs = budgetMs;
    AtomicInteger n = new AtomicInteger();
    this.executor =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "lookalike-" + name + "-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
  }

  /** Runs {@code work} for the call {@code ctx}; its exceptions pass through as they are. */
  public <T> T run(Context ctx, Callable<T> work) {
    Future<T> future = executor.submit(work);
    EndPoint endPoint = endPoint(ctx);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(budgetMs);
    try {
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          future.cancel(true);
          log.warn("{} cancelled after its budget of {} ms", name, budgetMs);
          throw new SearchException(
              ErrorCode.CHECK_TIMEOUT,
              name + " took longer than its budget of " + budgetMs + " ms");
        }
        try {
          return future.get(
              Math.min(left, TimeUnit.MILLISECONDS.toNanos(POLL_MS)), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
          if (endPoint != null && clientGone(ctx, endPoint)) {
            future.cancel(true);
            log.info("{} cancelled: the client went away", name);
            throw new SearchException(
                ErrorCode.CLIENT_GONE, name + " cancelled: the client went away");
          }
        }
      }
    } catch (InterruptedException e) {
      future.cancel(true);
      Thread.currentThread().interrupt();
      throw new SearchException(ErrorCode.INTERRUPTED, name + " interrupted");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException runtime) {
        throw runtime;
      }
      if (cause instanceof Error error) {
        throw error;
      }
      throw new IllegalStateException(name + " failed", cause);
    }
  }

  private static EndPoint endPoint(Context ctx) {
    try {
      ServletContextRequest request = ServletContextRequest.getServletContextRequest(ctx.req());
      return request == null ? null : request.getConnectionMetaData().getConnection().getEndPoint();
    } catch (RuntimeException e) {
      return null;
    }
  }

  /**
   * Whether the client closed its side. Jetty reads nothing from a connection while its request is
   * handled, so it would only notice when the answer is written: read one byte here. An HTTP/1.1
   * client sends nothing while it waits for an answer; should one have sent a pipelined request,
   * its first byte is lost, so the connection is closed after this answer.
   */
  private static boolean clientGone(Context ctx, EndPoint endPoint) {
    try {
      ByteBuffer one = ByteBuffer.allocate(1);
      one.flip(); // Jetty's buffers are kept in flush mode: fill appends after the limit
      int n = endPoint.fill(one);
      if (n > 0) {
        ctx.header("Connection", "close");
      }
      return n < 0 || !endPoint.isOpen();
    } catch (IOException | RuntimeException e) {
      return true;
    }
  }
}
