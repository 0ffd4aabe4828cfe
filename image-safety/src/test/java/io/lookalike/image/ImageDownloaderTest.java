package io.lookalike.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The downloader against a real HTTP server on the loopback interface. */
class ImageDownloaderTest {

  private HttpServer server;
  private String base;
  private final AtomicInteger busyCalls = new AtomicInteger();
  private final AtomicInteger hourCalls = new AtomicInteger();
  private final AtomicInteger concurrent = new AtomicInteger();
  private final AtomicInteger maxConcurrent = new AtomicInteger();
  private final AtomicInteger requests = new AtomicInteger();

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/small",
        ex -> {
          byte[] body = new byte[100];
          ex.sendResponseHeaders(200, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    server.createContext(
        "/endless",
        ex -> { // chunked, no Content-Length: the limit must hold while streaming
          ex.sendResponseHeaders(200, 0);
          try (OutputStream out = ex.getResponseBody()) {
            for (int i = 0; i < 1000; i++) {
              out.write(new byte[8192]);
            }
          } catch (Exception ignored) {
            // the client hung up, as it should
          }
        });
    server.createContext(
        "/redirect",
        ex -> {
          ex.getResponseHeaders().add("Location", "/small");
          ex.sendResponseHeaders(302, -1);
          ex.close();
        });
    server.createContext(
        "/loop",
        ex -> {
          ex.getResponseHeaders().add("Location", "/loop");
          ex.sendResponseHeaders(301, -1);
          ex.close();
        });
    server.createContext(
        "/forbidden",
        ex -> {
          ex.sendResponseHeaders(403, -1);
          ex.close();
        });
    server.createContext(
        "/slow",
        ex -> {
          try {
            Thread.sleep(2000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          ex.sendResponseHeaders(200, -1);
          ex.close();
        });
    server.createContext(
        "/busy",
        ex -> { // 429 with Retry-After: 1 on every other call
          if (busyCalls.incrementAndGet() % 2 == 1) {
            ex.getResponseHeaders().add("Retry-After", "1");
            ex.sendResponseHeaders(429, -1);
          } else {
            ex.sendResponseHeaders(200, 100);
            ex.getResponseBody().write(new byte[100]);
          }
          ex.close();
        });
    server.createContext(
        "/busy-for-an-hour",
        ex -> {
          hourCalls.incrementAndGet();
          ex.getResponseHeaders().add("Retry-After", "3600");
          ex.sendResponseHeaders(503, -1);
          ex.close();
        });
    server.createContext(
        "/counted",
        ex -> {
          int now = concurrent.incrementAndGet();
          maxConcurrent.accumulateAndGet(now, Math::max);
          try {
            Thread.sleep(100);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          concurrent.decrementAndGet();
          ex.sendResponseHeaders(200, 100);
          ex.getResponseBody().write(new byte[100]);
          ex.close();
        });
    server.createContext(
        "/to-v6-loopback",
        ex -> {
          ex.getResponseHeaders()
              .add("Location", "http://[::1]:" + server.getAddress().getPort() + "/small");
          ex.sendResponseHeaders(302, -1);
          ex.close();
        });
    server.createContext(
        "/to-other-loopback",
        ex -> {
          ex.getResponseHeaders()
              .add("Location", "http://127.0.0.2:" + server.getAddress().getPort() + "/small");
          ex.sendResponseHeaders(302, -1);
          ex.close();
        });
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    server.createContext(
        "/",
        ex -> {
          requests.incrementAndGet();
          ex.sendResponseHeaders(200, 100);
          ex.getResponseBody().write(new byte[100]);
          ex.close();
        });
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private static ImageDownloader downloader(long maxBytes, boolean allowFile) {
    return new ImageDownloader(
        new ImageDownloader.Options(
                maxBytes,
                Duration.ofSeconds(1),
                Duration.ofMillis(500),
                3,
                1,
                Duration.ofMillis(10),
                allowFile)
            .withGuard(true, java.util.List.of("127.0.0.1")));
  }

  @Test
  void shouldFollowRedirect() throws Exception {
    assertThat(downloader(1000, false).download(base + "/redirect")).hasSize(100);
  }

  @Test
  void shouldStopReadingPastMaxBytes() {
    assertReason(() -> downloader(50_000, false).download(base + "/endless"), "too_large");
    assertReason(() -> downloader(99, false).download(base + "/small"), "too_large");
  }

  @Test
  void shouldGiveUpOnRedirectLoop() {
    assertReason(() -> downloader(1000, false).download(base + "/loop"), "fetch_failed");
  }

  @Test
  void shouldNotRetryClientErrors() {
    assertReason(() -> downloader(1000, false).download(base + "/forbidden"), "fetch_failed");
  }

  @Test
  void shouldTimeOutSlowServer() {
    assertReason(() -> downloader(1000, false).download(base + "/slow"), "fetch_timeout");
  }

  @Test
  void shouldRefuseFileUrlsUnlessAllowed(@TempDir Path dir) throws Exception {
    Path file = Files.write(dir.resolve("a.jpg"), new byte[10]);
    assertReason(
        () -> downloader(1000, false).download(file.toUri().toString()), "scheme_not_allowed");
    assertThat(downloader(1000, true).download(file.toUri().toString())).hasSize(10);
    assertReason(
        () -> downloader(1000, true).download(dir.resolve("none.jpg").toUri().toString()),
        "not_found");
  }

  @Test
  void shouldRefuseOtherSchemes() {
    assertReason(
        () -> downloader(1000, true).download("ftp://127.0.0.1/a.jpg"), "scheme_not_allowed");
    assertReason(() -> downloader(1000, true).download("images/a.jpg"), "scheme_not_allowed");
  }

  @Test
  void shouldRefuseLoopbackWithGuardOnBeforeConnecting() {
    ImageDownloader guarded =
        new ImageDownloader(
            new ImageDownloader.Options(
                1000,
                Duration.ofSeconds(1),
                Duration.ofMillis(500),
                3,
                1,
                Duration.ofMillis(10),
                false));
    int port = server.getAddress().getPort();
    assertReason(() -> guarded.download("http://127.0.0.1:" + port + "/"), "ssrf_blocked");
    assertReason(() -> guarded.download("http://[::1]:" + port + "/"), "ssrf_blocked");
    assertReason(() -> guarded.download("http://localhost:" + port + "/"), "ssrf_blocked");
    assertReason(() -> guarded.download("http://[::ffff:127.0.0.1]:" + port + "/"), "ssrf_blocked");
    assertThat(requests.get()).isZero();
  }

  @Test
  void shouldRefuseRedirectToOtherLoopbackAddresses() {
    assertReason(() -> downloader(1000, false).download(base + "/to-v6-loopback"), "ssrf_blocked");
    assertReason(
        () -> downloader(1000, false).download(base + "/to-other-loopback"), "ssrf_blocked");
    assertThat(requests.get()).isZero();
  }

  @Test
  void shouldHonourRetryAfterOn429() throws Exception {
    long start = System.nanoTime();
    assertThat(downloader(1000, false).download(base + "/busy")).hasSize(100);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(950));
    assertThat(busyCalls.get()).isEqualTo(2);
  }

  @Test
  void shouldFailAtOnceWhenRetryAfterIsBeyondCap() {
    assertReason(
        () -> downloader(1000, false).download(base + "/busy-for-an-hour"), "fetch_failed");
    // "At once": asked once, not retried after waiting (the retry-after of an hour is beyond the
    // cap).
    assertThat(hourCalls.get()).isEqualTo(1);
  }

  @Test
  void shouldReadRetryAfterAsSecondsOrHttpDate() {
    assertThat(ImageDownloader.retryAfter("120")).isEqualTo(Duration.ofSeconds(120));
    String inTenSeconds =
        java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME.format(
            java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC).plusSeconds(10));
    assertThat(ImageDownloader.retryAfter(inTenSeconds))
        .isBetween(Duration.ofSeconds(8), Duration.ofSeconds(10));
    assertThat(ImageDownloader.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).isZero();
    assertThat(ImageDownloader.retryAfter("soon")).isNull();
  }

  @Test
  void shouldLimitRequestsInFlightPerHost() throws Exception {
    ImageDownloader limited =
        new ImageDownloader(
            new ImageDownloader.Options(
                1000,
                Duration.ofSeconds(1),
                Duration.ofSeconds(5),
                3,
                0,
                Duration.ofMillis(10),
                false,
                2,
                Duration.ofSeconds(1),
                true,
                List.of("127.0.0.1")));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<byte[]>> results = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        results.add(pool.submit(() -> limited.download(base + "/counted")));
      }
      for (Future<byte[]> result : results) {
        assertThat(result.get()).hasSize(100);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(maxConcurrent.get()).isEqualTo(2);
  }

  private static void assertReason(ThrowingCallable call, String reason) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            RejectedImageException.class, e -> assertThat(e.reasonCode()).isEqualTo(reason));
  }
}
