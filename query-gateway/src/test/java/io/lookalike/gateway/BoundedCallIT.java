package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.javalin.Javalin;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Long work of a call ends when its budget is spent or its client leaves, over real HTTP (Jetty).
 */
class BoundedCallIT {

  private final CountDownLatch started = new CountDownLatch(1);
  private final AtomicBoolean interrupted = new AtomicBoolean();
  private Javalin app;

  private int serve(long budgetMs) {
    BoundedCall call = new BoundedCall("check", budgetMs);
    app =
        Javalin.create(
            cfg -> {
              cfg.startup.showJavalinBanner = false;
              cfg.jetty.host = "127.0.0.1";
              cfg.jetty.port = 0;
              cfg.routes.post(
                  "/work", ctx -> ctx.result(call.run(ctx, this::workUntilInterrupted)));
              cfg.routes.exception(
                  SearchException.class,
                  (e, ctx) ->
                      ctx.status(e.status())
                          .json(Map.of("error", e.getMessage(), "code", e.code())));
            });
    app.start();
    return app.port();
  }

  private String workUntilInterrupted() {
    started.countDown();
    try {
      new CountDownLatch(1).await(); // never done on its own
      return "done";
    } catch (InterruptedException e) {
      interrupted.set(true);
      throw new IllegalStateException("interrupted");
    }
  }

  @AfterEach
  void stop() {
    if (app != null) {
      app.stop();
    }
  }

  @Test
  void shouldCancelWorkPastItsBudgetAndAnswer503() throws Exception {
    int port = serve(200);

    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/work"))
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .timeout(Duration.ofSeconds(60))
                    .build(),
                HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(response.body()).contains("\"code\":\"check_timeout\"");
    await().atMost(Duration.ofSeconds(30)).untilTrue(interrupted);
  }

  @Test
  void shouldCancelWorkWhenTheClientGoes() throws Exception {
    int port = serve(600_000);

    try (Socket socket = new Socket("127.0.0.1", port)) {
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST /work HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
    } // the client hangs up while the work runs

    await().atMost(Duration.ofSeconds(60)).untilTrue(interrupted);
  }
}
