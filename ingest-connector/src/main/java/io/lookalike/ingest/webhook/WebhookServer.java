package io.lookalike.ingest.webhook;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webhook on its own: {@link WebhookReceiver} at {@code POST /v1/events} on the JDK's built-in
 * HTTP server. ingest-connector is a library for Kafka Connect workers and Streams apps and should
 * not carry a web framework; one endpoint needs none. (In the local mode the gateway mounts the
 * same receiver on its own server.)
 *
 * <p>Run it with {@code lookalike webhook} (the deploy/local launcher):
 *
 * <pre>
 * lookalike webhook -b kafka:9092 -Dwebhook.port=8081 -Dwebhook.auth=bearer -Dwebhook.secret=...
 * </pre>
 */
public final class WebhookServer implements AutoCloseable {

  public static final String PATH = "/v1/events";
  private static final Logger log = LoggerFactory.getLogger(WebhookServer.class);

  private final HttpServer server;
  private final ExecutorService executor;
  private final WebhookReceiver receiver;

  public WebhookServer(WebhookConfig config, WebhookReceiver receiver) throws IOException {
    this.receiver = receiver;
    this.server =
        HttpServer.create(
            new InetSocketAddress(
                config.getString(WebhookConfig.HOST_CONFIG),
                config.getInt(WebhookConfig.PORT_CONFIG)),
            128);
    // Each request waits for the brokers' acknowledgement: serve many at once.
    this.executor = Executors.newFixedThreadPool(64);
    server.setExecutor(executor);
    server.createContext(PATH, this::serve);
  }

  /** Starts serving; returns the port (useful with webhook.port=0). */
  public int start() {
    server.start();
    log.info("Webhook listening on {}{}", server.getAddress(), PATH);
    return server.getAddress().getPort();
  }

  private void serve(HttpExchange exchange) throws IOException {
    try (exchange) {
      if (!exchange.getRequestURI().getPath().equals(PATH)) {
        send(exchange, 404, "{\"error\":\"not found\",\"code\":\"not_found\"}", Map.of());
        return;
      }
      if (!exchange.getRequestMethod().equals("POST")) {
        send(
            exchange,
            405,
            "{\"error\":\"use POST\",\"code\":\"method_not_allowed\"}",
            Map.of("Allow", "POST"));
        return;
      }
      byte[] body;
      try (InputStream in = exchange.getRequestBody()) {
        body = in.readNBytes(receiver.maxBodyBytes() + 1); // never more than the limit in memory
      }
      Map<String, String> headers = new HashMap<>();
      exchange
          .getRequestHeaders()
          .forEach((name, values) -> headers.put(name, values.isEmpty() ? "" : values.get(0)));
      WebhookReceiver.Response response = receiver.handle(body, headers);
      send(exchange, response.status(), response.body(), response.headers());
    } catch (RuntimeException e) {
      log.error("Webhook request failed", e);
    }
  }

  private static void send(
      HttpExchange exchange, int status, String json, Map<String, String> headers)
      throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", WebhookReceiver.Response.CONTENT_TYPE);
    headers.forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(1);
    executor.shutdownNow();
    receiver.close();
  }
}
