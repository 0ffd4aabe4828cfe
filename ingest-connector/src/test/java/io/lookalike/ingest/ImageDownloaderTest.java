package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The downloader against a real HTTP server on the loopback interface. */
class ImageDownloaderTest {

  private HttpServer server;
  private String base;

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/small", ex -> {
      byte[] body = new byte[100];
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    server.createContext("/endless", ex -> { // chunked, no Content-Length: the limit must hold while streaming
      ex.sendResponseHeaders(200, 0);
      try (OutputStream out = ex.getResponseBody()) {
        for (int i = 0; i < 1000; i++) {
          out.write(new byte[8192]);
        }
      } catch (Exception ignored) {
        // the client hung up, as it should
      }
    });
    server.createContext("/redirect", ex -> {
      ex.getResponseHeaders().add("Location", "/small");
      ex.sendResponseHeaders(302, -1);
      ex.close();
    });
    server.createContext("/loop", ex -> {
      ex.getResponseHeaders().add("Location", "/loop");
      ex.sendResponseHeaders(301, -1);
      ex.close();
    });
    server.createContext("/forbidden", ex -> {
      ex.sendResponseHeaders(403, -1);
      ex.close();
    });
    server.createContext("/slow", ex -> {
      try {
        Thread.sleep(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      ex.sendResponseHeaders(200, -1);
      ex.close();
    });
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private static ImageDownloader downloader(long maxBytes, boolean allowFile) {
    return new ImageDownloader(new ImageDownloader.Options(maxBytes, Duration.ofSeconds(1), Duration.ofMillis(500), 3,
        1, Duration.ofMillis(10), allowFile));
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
    assertReason(() -> downloader(1000, false).download(file.toUri().toString()), "scheme_not_allowed");
    assertThat(downloader(1000, true).download(file.toUri().toString())).hasSize(10);
    assertReason(() -> downloader(1000, true).download(dir.resolve("none.jpg").toUri().toString()), "not_found");
  }

  @Test
  void shouldRefuseOtherSchemes() {
    assertReason(() -> downloader(1000, true).download("ftp://127.0.0.1/a.jpg"), "scheme_not_allowed");
    assertReason(() -> downloader(1000, true).download("images/a.jpg"), "scheme_not_allowed");
  }

  private static void assertReason(ThrowingCallable call, String reason) {
    assertThatThrownBy(call).isInstanceOfSatisfying(RejectedImageException.class,
        e -> assertThat(e.reasonCode()).isEqualTo(reason));
  }
}
