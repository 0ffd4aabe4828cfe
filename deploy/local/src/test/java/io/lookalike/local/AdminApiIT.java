package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The attacks on the local mode's admin API seen in the field, each over a real socket: a web
 * page's cross-origin POST without a body, a text/plain body, a foreign Host (DNS rebinding), a
 * huge check sample, and a model path that fails to load; none may succeed, and no error may show a
 * server path.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminApiIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  private Path data;
  private LocalMode local;
  private String secret;
  private String active;

  @BeforeAll
  void startLocalMode(@TempDir Path tmp) throws Exception {
    data = tmp.resolve("data");
    local =
        new LocalMode(
                new LocalMode.Options(
                    data,
                    "127.0.0.1",
                    freePort(),
                    freePort(),
                    0,
                    "127.0.0.1",
                    null,
                    1,
                    false,
                    Map.of()))
            .start();
    secret = Files.readString(data.resolve(LocalMode.ADMIN_SECRET_FILE)).strip();
    active = local.store().modelId();
  }

  @AfterAll
  void stop() {
    if (local != null) {
      local.close();
    }
  }

  @Test
  void shouldKeepTheGeneratedSecretOwnerOnly() throws Exception {
    assertThat(secret).hasSizeGreaterThanOrEqualTo(32);
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(data.resolve(LocalMode.ADMIN_SECRET_FILE))))
        .isEqualTo("rw-------");
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(data.resolve("webhook.secret"))))
        .isEqualTo("rw-------");
  }

  @Test
  void shouldAnswerTheRightfulCallerOnly() throws Exception {
    Response ok =
        call("GET", "/v1/admin/models", Map.of("Authorization", "Bearer " + secret), null);
    assertThat(ok.status).as(ok.body).isEqualTo(200);

    Response none = call("GET", "/v1/admin/models", Map.of(), null);
    Response wrong =
        call("GET", "/v1/admin/models", Map.of("Authorization", "Bearer " + secret + "x"), null);
    assertThat(none.status).isEqualTo(401);
    assertThat(none.code()).isEqualTo("unauthorized");
    assertThat(wrong.status).isEqualTo(401);
  }

  @Test
  void shouldRefuseACrossOriginPostWithoutBodyAndKeepTheActiveModel() throws Exception {
    // A page on https://evil.example posts a "simple" request: no body, so no preflight
    Response anonymous =
        call(
            "POST",
            "/v1/admin/models/" + active + "/activate",
            Map.of("Origin", "https://evil.example"),
            null);
    // even should it have learnt the secret
    Response withSecret =
        call(
            "POST",
            "/v1/admin/models/" + active + "/activate",
            Map.of(
                "Origin",
                "https://evil.example",
                "Authorization",
                "Bearer " + secret,
                "Content-Type",
                "application/json"),
            "{}");
    Response sandboxed =
        call(
            "POST",
            "/v1/admin/models/" + active + "/activate",
            Map.of(
                "Origin",
                "null",
                "Authorization",
                "Bearer " + secret,
                "Content-Type",
                "application/json"),
            "{}");

    assertThat(anonymous.status).isEqualTo(403);
    assertThat(anonymous.code()).isEqualTo("cross_origin");
    assertThat(withSecret.status).isEqualTo(403);
    assertThat(sandboxed.status).isEqualTo(403);
    assertThat(local.pipelines().active().modelId()).isEqualTo(active);
  }

  @Test
  void shouldRefuseMutatingCallsThatAreNotJson() throws Exception {
    int models = local.pipelines().modelIds().size();
    String model = "{\"url\": \"" + data.resolve("next.pt") + "\"}";

    Response plain =
        call(
            "POST",
            "/v1/admin/models",
            Map.of("Authorization", "Bearer " + secret, "Content-Type", "text/plain"),
            model);
    Response form =
        call(
            "POST",
            "/v1/admin/models/" + active + "/activate",
            Map.of(
                "Authorization",
                "Bearer " + secret,
                "Content-Type",
                "application/x-www-form-urlencoded"),
            "a=b");
    Response untyped =
        call(
            "DELETE",
            "/v1/admin/models/" + active,
            Map.of("Authorization", "Bearer " + secret),
            null);

    assertThat(plain.status).isEqualTo(415);
    assertThat(plain.code()).isEqualTo("unsupported_type");
    assertThat(form.status).isEqualTo(415);
    assertThat(untyped.status).isEqualTo(415);
    assertThat(local.pipelines().modelIds()).hasSize(models);
  }

  @Test
  void shouldRefuseAForeignHostHeader() throws Exception {
    // DNS rebinding: evil.example now resolves to 127.0.0.1, and the page reads the answer
    Response rebound =
        call(
            "GET",
            "/v1/admin/models",
            Map.of(
                "Host", "evil.example:" + local.gatewayPort(), "Authorization", "Bearer " + secret),
            null);
    Response missing =
        call(
            "GET",
            "/v1/admin/models",
            Map.of("Host", "", "Authorization", "Bearer " + secret),
            null);

    assertThat(rebound.status).isEqualTo(421);
    assertThat(rebound.code()).isEqualTo("misdirected");
    assertThat(rebound.body).doesNotContain(active);
    assertThat(missing.status).isIn(400, 421);
    Response localhost =
        call(
            "GET",
            "/v1/admin/models",
            Map.of("Host", "localhost:" + local.gatewayPort(), "Authorization", "Bearer " + secret),
            null);
    assertThat(localhost.status).isEqualTo(200);
  }

  @Test
  void shouldCapTheSampleOfAQualityCheck() throws Exception {
    Response huge =
        call(
            "POST",
            "/v1/admin/models/" + active + "/check?sample=10000",
            Map.of("Authorization", "Bearer " + secret, "Content-Type", "application/json"),
            "{}");

    assertThat(huge.status).isEqualTo(400);
    assertThat(huge.json().get("error").asText()).contains("between 1 and 1000");
  }

  @Test
  void shouldShowNoServerPathWhenAModelFailsToLoad() throws Exception {
    // Given a file that is no TorchScript model, inside the data directory
    Path garbage = data.resolve("garbage.pt");
    byte[] noise = new byte[4096];
    new Random(7).nextBytes(noise);
    Files.write(garbage, noise);

    Response missing =
        call(
            "POST",
            "/v1/admin/models",
            Map.of("Authorization", "Bearer " + secret, "Content-Type", "application/json"),
            "{\"url\": \"" + data.resolve("missing.pt") + "\"}");
    Response broken =
        call(
            "POST",
            "/v1/admin/models",
            Map.of("Authorization", "Bearer " + secret, "Content-Type", "application/json"),
            "{\"url\": \"" + garbage + "\"}");
    Response badJson =
        call(
            "POST",
            "/v1/admin/models",
            Map.of("Authorization", "Bearer " + secret, "Content-Type", "application/json"),
            "{\"url\": ");

    for (Response r : new Response[] {missing, broken, badJson}) {
      assertThat(r.status).as(r.body).isEqualTo(400);
      assertThat(r.body)
          .doesNotContain(data.toString())
          .doesNotContain(data.toRealPath().toString())
          .doesNotContain("garbage.pt")
          .doesNotContain("missing.pt")
          .doesNotContain(System.getProperty("user.home"));
    }
    assertThat(broken.code()).isEqualTo("bad_model");
  }

  @Test
  void shouldRefuseTheWebhookFromAWebPage() throws Exception {
    String webhookSecret = Files.readString(data.resolve("webhook.secret")).strip();
    Response page =
        call(
            "POST",
            "/v1/events",
            Map.of(
                "Origin",
                "https://evil.example",
                "Content-Type",
                "application/json",
                "Authorization",
                "Bearer " + webhookSecret),
            "[]");
    Response plain =
        call(
            "POST",
            "/v1/events",
            Map.of("Content-Type", "text/plain", "Authorization", "Bearer " + webhookSecret),
            "[]");

    assertThat(page.status).isEqualTo(403);
    assertThat(plain.status).isEqualTo(415);
  }

  @Test
  void shouldLetTheCliCallTheAdminApiWithTheSecretFromTheDataDir() {
    String gateway = "http://127.0.0.1:" + local.gatewayPort();
    Run listed = cli("models", "--gateway", gateway, "--data-dir", data.toString());
    Run noSecret =
        cli("models", "--gateway", gateway, "--data-dir", data.resolve("elsewhere").toString());
    Run unknownDrop =
        cli("drop", "no_such_model_00000000", "--gateway", gateway, "--data-dir", data.toString());

    assertThat(listed.exit).as(listed.err).isZero();
    assertThat(listed.out).contains(active);
    assertThat(noSecret.exit).isEqualTo(ModelCommands.FAILED);
    assertThat(noSecret.err).contains("admin secret");
    // authorised and JSON: the gateway's own answer comes back
    assertThat(unknownDrop.exit).isEqualTo(ModelCommands.FAILED);
    assertThat(unknownDrop.err).contains("404").contains("unknown_model");
  }

  // --- plumbing ---

  private record Run(int exit, String out, String err) {}

  private static Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine command = new CommandLine(new Lookalike());
    command.setOut(new PrintWriter(out, true));
    command.setErr(new PrintWriter(err, true));
    int exit = command.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private record Response(int status, String body) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }

    String code() {
      return json().path("code").asText();
    }
  }

  /**
   * One HTTP/1.1 request over a socket, with exactly the headers given (Host defaults to
   * 127.0.0.1:port).
   */
  private Response call(String method, String path, Map<String, String> headers, String body)
      throws IOException {
    Map<String, String> all = new LinkedHashMap<>();
    all.put("Host", "127.0.0.1:" + local.gatewayPort());
    all.putAll(headers);
    byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    StringBuilder request = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
    all.forEach(
        (name, value) -> {
          if (!(name.equals("Host") && value.isEmpty())) {
            request.append(name).append(": ").append(value).append("\r\n");
          }
        });
    request
        .append("Content-Length: ")
        .append(content.length)
        .append("\r\nConnection: close\r\n\r\n");
    try (Socket socket = new Socket("127.0.0.1", local.gatewayPort())) {
      socket.setSoTimeout(120_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.toString().getBytes(StandardCharsets.US_ASCII));
      out.write(content);
      out.flush();
      InputStream in = socket.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      int status = Integer.parseInt(response.substring(9, 12));
      String head = response.substring(0, response.indexOf("\r\n\r\n"));
      String rest = response.substring(response.indexOf("\r\n\r\n") + 4);
      return new Response(
          status, head.toLowerCase().contains("transfer-encoding: chunked") ? unchunk(rest) : rest);
    }
  }

  private static String unchunk(String chunked) {
    StringBuilder out = new StringBuilder();
    int at = 0;
    while (true) {
      int eol = chunked.indexOf("\r\n", at);
      int size = Integer.parseInt(chunked.substring(at, eol).strip(), 16);
      if (size == 0) {
        return out.toString();
      }
      out.append(chunked, eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
