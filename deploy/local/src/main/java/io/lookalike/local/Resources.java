package io.lookalike.local;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;

/**
 * What a launcher keeps open: resources remembered in the order they open, closed in reverse on
 * failure or shutdown, each failure logged without stopping the rest.
 *
 * <p>Hand-written (40 lines): Guava's {@code Closer} takes only {@code Closeable}, rethrows the
 * first failure and has no shutdown hook, and a launcher must stop everything it can and say what
 * failed.
 */
final class Resources implements AutoCloseable {

  private final Logger log;
  private final Deque<AutoCloseable> open = new ArrayDeque<>();
  private final CountDownLatch stopped = new CountDownLatch(1);

  /**
   * @param log where a resource that fails to close is reported (the launcher's logger)
   */
  Resources(Logger log) {
    this.log = log;
  }

  /** Remembers {@code resource}, to be closed before everything remembered earlier. */
  synchronized <T extends AutoCloseable> T remember(T resource) {
    open.push(resource);
    return resource;
  }

  /** Closes what is remembered, newest first; a failure is logged and the rest still closed. */
  @Override
  public void close() {
    for (AutoCloseable resource = next(); resource != null; resource = next()) {
      try {
        resource.close();
      } catch (Exception e) {
        log.warn("Error while stopping {}", resource.getClass().getSimpleName(), e);
      }
    }
  }

  private synchronized AutoCloseable next() {
    return open.poll();
  }

  /**
   * Closes everything when the JVM is asked to stop (Ctrl-C, SIGTERM): in a shutdown hook named
   * {@code threadName}, after {@code announce}.
   */
  Resources closeOnShutdown(String threadName, Runnable announce) {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  announce.run();
                  close();
                  stopped.countDown();
                },
                threadName));
    return this;
  }

  /** Blocks until the shutdown hook of {@link #closeOnShutdown} has closed everything. */
  void awaitShutdown() throws InterruptedException {
    stopped.await();
  }
}
