package io.lookalike.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lookalike.gateway.SecretFile;
import io.lookalike.lifecycle.MilvusReembed;
import io.lookalike.lifecycle.QualityGate;
import io.lookalike.lifecycle.ReembedConsole;
import io.lookalike.lifecycle.ShopperChecks;
import io.lookalike.lifecycle.ShopperChecksReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The model commands of the {@code lookalike} CLI: {@code reembed}, {@code models}, {@code drop};
 * they talk to the gateway's admin API.
 */
final class ModelCommands {

  /** Exit code when the quality gate refuses the new model. */
  static final int GATE_FAILED = MilvusReembed.GATE_FAILED;

  /** Exit code when the gateway cannot be reached or refuses a request. */
  static final int FAILED = 1;

  /** Mirrored live searches the shadow minimums of reembed are measured on by default. */
  static final long DEFAULT_SHADOW_MIN_QUERIES = 20;

  /** Not enough live searches were mirrored in time: said already, nothing refused. */
  private static final class ShadowWaitExpired extends Exception {
    ShadowWaitExpired() {
      super(null, null, false, false);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern URL_SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]+:.*");

  private ModelCommands() {}

  /** Options every model command shares. */
  static class GatewayOption {
    @Option(
        names = "--gateway",
        defaultValue = "http://localhost:8080",
        description =
            "The local mode's gateway, whose admin API answers on loopback (default: ${DEFAULT-VALUE}).")
    String gateway;

    @Option(
        names = "--data-dir",
        defaultValue = "data",
        description =
            "The local mode's data directory, whose admin.secret authorises the calls (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(
        names = "--admin-secret",
        defaultValue = "${env:LOOKALIKE_ADMIN_SECRET}",
        description =
            "The admin secret, when not read from --data-dir (env LOOKALIKE_ADMIN_SECRET).")
    String adminSecret;

    AdminClient admin() {
      return new AdminClient(
          gateway,
          () -> {
            if (adminSecret != null && !adminSecret.isBlank()) {
              return adminSecret.strip();
            }
            Path file = dataDir.resolve(LocalMode.ADMIN_SECRET_FILE);
            try {
              return SecretFile.read(file);
            } catch (IOException e) {
              throw new AdminClient.Failure(
                  "Cannot read the admin secret "
                      + file.toAbsolutePath()
                      + ": give --data-dir of the running local mode, or --admin-secret");
            }
          });
    }
  }

  @Command(
      name = "reembed",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description = {
        "Switches search to a new model with no downtime, after checking it.",
        "",
        "Registers the model; the local mode replays the whole catalog (the compacted",
        "catalog.product-images topic) through it into a new index while live changes",
        "keep flowing to the current index and the new one. Waits until the new index",
        "has caught up (progress bar), checks it, and switches searches in one step.",
        "",
        "The replay runs in the local mode, not in this command: after Ctrl-C, or a",
        "restart of the local mode, run the same command again and it resumes from",
        "the committed offsets.",
        "",
        "The check, on --sample indexed photos: near-duplicate recall@1 (an altered",
        "copy: 80%% crop, colour shift, JPEG q50, must find its own product first",
        "with the new model) and agreement@1 with the current model (share of those",
        "queries with the same top product in both indexes). Below --gate nothing",
        "switches and the command exits with " + GATE_FAILED + ". It is also refused when it is",
        "more than --max-drop below the current model on precision@10 by --field",
        "(default category: each sampled photo, its own product left out, against the",
        "10 nearest other products), or on recall@1 of the photo under a price",
        "overlay or pasted at 40%% into another photo.",
        "",
        "Shadow traffic: while the new model catches up and until the switch, the",
        "gateway also runs gateway.shadow.share of the live searches against it, off",
        "the request's path, and prints how its answers agree with the live ones",
        "(top-1 agreement, top-10 overlap, score shift). --shadow-min-overlap and",
        "--shadow-min-agreement refuse the switch below them, measured on at least",
        "--shadow-min-queries mirrored searches (waited for, --shadow-wait-s).",
        "",
        "--store milvus (the distributed mode; -b and -Dmilvus.uri=... name the cluster):",
        "this command runs the new model's embedder and indexer itself, into the",
        "model's own collection (its property lookalike.model.url names the model),",
        "checks it against the collection behind milvus.alias, swaps the alias, and",
        "stops them: run the new model's `lookalike embedder --model URL` and",
        "`lookalike indexer` (or Connect) from then on; they resume from its offsets.",
        "Gateways follow the alias (-Dgateway.alias.refresh.ms, default 2000);",
        "--drop-old drops the old collection -Dreembed.drop.delay.ms (default 60000) later."
      },
      footer = {
        "",
        "Examples:",
        "  lookalike reembed --model models/next/next.pt",
        "  lookalike reembed --model https://example.com/v7.pt --name shop_v7 --drop-old",
        "  lookalike reembed --model models/next/next.pt --shadow-min-overlap 0.6 --shadow-min-queries 200",
        "  lookalike reembed --store milvus -b kafka:9092 -Dmilvus.uri=http://milvus:19530 --model s3://m/v7.pt"
      })
  static final class Reembed extends GatewayOption implements Callable<Integer> {
    @Option(
        names = "--model",
        required = true,
        paramLabel = "URL|PATH",
        description =
            "The TorchScript model: a file path or a URL DJL accepts (file:, https:, s3:, djl://).")
    String model;

    @Option(
        names = "--name",
        description = "Model name, the first part of its modelId (default: the file name).")
    String name;

    @Option(
        names = "--gate",
        defaultValue = "0.9",
        paramLabel = "RECALL",
        description = "Least near-duplicate recall@1 (0..1) to switch (default: ${DEFAULT-VALUE}).")
    double gate;

    @Option(
        names = "--max-drop",
        defaultValue = "0.05",
        paramLabel = "DROP",
        description =
            "Most the new model may fall below the current one on --field precision@10, overlay and"
                + " scene recall@1 (0..1, default: ${DEFAULT-VALUE}).")
    double maxDrop;

    @Option(
        names = "--field",
        defaultValue = ShopperChecks.DEFAULT_FIELD,
        description =
            "Metadata field whose precision@10 the check compares (default: ${DEFAULT-VALUE}).")
    String field;

    @Option(
        names = "--sample",
        defaultValue = "100",
        description = "Indexed photos the check samples (default: ${DEFAULT-VALUE}).")
    int sample;

    @Option(
        names = "--shadow-min-overlap",
        paramLabel = "OVERLAP",
        description =
            "Least mean top-10 overlap (0..1) of the new model's answers with the live ones on"
                + " mirrored live searches (shadow traffic, gateway.shadow.share) to switch."
                + " Default: not required.")
    Double shadowMinOverlap;

    @Option(
        names = "--shadow-min-agreement",
        paramLabel = "AGREEMENT",
        description =
            "Least top-1 agreement (0..1: share of mirrored live searches whose first product is"
                + " the live one's) to switch. Default: not required.")
    Double shadowMinAgreement;

    @Option(
        names = "--shadow-min-queries",
        paramLabel = "N",
        description =
            "Mirrored live searches the shadow minimums are measured on; reembed waits for them"
                + " (at most --shadow-wait-s) before the switch (default: "
                + DEFAULT_SHADOW_MIN_QUERIES
                + " when a minimum is given).")
    Long shadowMinQueries;

    @Option(
        names = "--shadow-wait-s",
        defaultValue = "600",
        paramLabel = "SECONDS",
        description =
            "Longest to wait for --shadow-min-queries mirrored searches after the check (default:"
                + " ${DEFAULT-VALUE}).")
    long shadowWaitS;

    @Option(
        names = "--keep-warm",
        description =
            "When the check refuses the new model, keep its pipeline following the catalog (default:"
                + " it stops consuming, shown as refused, until registered again).")
    boolean keepWarm;

    @Option(
        names = "--drop-old",
        description = "After the switch, drop the previous model (pipeline, index, topic).")
    boolean dropOld;

    @Option(names = "--poll-ms", defaultValue = "500", hidden = true)
    long pollMs;

    @Option(
        names = "--store",
        defaultValue = "lucene",
        description =
            "lucene: the local mode's (through --gateway); milvus: the distributed mode's (default: ${DEFAULT-VALUE}).")
    String store;

    @Mixin StageCommands.Common cluster;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      if (!(gate >= 0 && gate <= 1)) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(),
            String.format(Locale.ROOT, "--gate must be a recall@1 between 0 and 1, got %s", gate));
      }
      if (!(maxDrop >= 0 && maxDrop <= 1)) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(),
            String.format(Locale.ROOT, "--max-drop must be between 0 and 1, got %s", maxDrop));
      }
      checkShare("--shadow-min-overlap", shadowMinOverlap);
      checkShare("--shadow-min-agreement", shadowMinAgreement);
      if (shadowMinQueries != null && shadowMinQueries < 1) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(), "--shadow-min-queries must be at least 1, got " + shadowMinQueries);
      }
      if (shadowWaitS < 0) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(), "--shadow-wait-s must not be negative, got " + shadowWaitS);
      }
      if (shadowRequired() && !StageCommands.isLucene(store)) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(),
            "--shadow-min-* need the local mode's gateway (--store lucene): the distributed"
                + " gateways do not mirror live searches to a candidate collection");
      }
      AdminClient admin = admin();
      try {
        String url =
            URL_SCHEME.matcher(model).matches() && !model.matches("^[a-zA-Z]:\\\\.*")
                ? model
                : Path.of(model).toAbsolutePath().normalize().toString();
        if (!URL_SCHEME.matcher(model).matches() && !Files.exists(Path.of(url))) {
          err.println("No model file at " + url);
          return FAILED;
        }
        if (!StageCommands.isLucene(store)) {
          return new MilvusReembed(cluster.config(), cluster::ensureTopics, out, err)
              .run(url, name, gate, maxDrop, sample, dropOld, pollMs);
        }
        var body = JSON.createObjectNode().put("url", url);
        if (name != null) {
          body.put("name", name);
        }
        JsonNode registered =
            admin.send("POST", "/v1/admin/models", body.toString(), Duration.ofMinutes(10));
        String modelId = registered.path("modelId").asText();
        String previous = admin.send("GET", "/v1/models", null).path("active").asText(null);
        out.printf(
            "Model %s (%d-d) registered%s.%n",
            modelId,
            registered.path("dimension").asInt(),
            "catching_up".equals(registered.path("state").asText())
                ? "; replaying the catalog through it"
                : "");
        out.flush();
        if (modelId.equals(previous)) {
          out.println("It is the active model already: nothing to do.");
          return 0;
        }

        JsonNode progress = waitUntilCaughtUp(admin, modelId);
        if (progress.path("reason").isTextual()) {
          err.printf(
              "Not switching: %s was refused: %s. %s stays active; drop it (lookalike drop %s).%n",
              modelId, progress.path("reason").asText(), previous, modelId);
          return GATE_FAILED;
        }
        out.printf("Caught up: %d images indexed.%n", progress.path("vectors").asLong());

        out.printf("Checking %s against %s on %d sampled photos…%n", modelId, previous, sample);
        out.flush();
        JsonNode check =
            admin.send(
                "POST",
                "/v1/admin/models/"
                    + modelId
                    + "/check?sample="
                    + sample
                    + "&field="
                    + java.net.URLEncoder.encode(field, java.nio.charset.StandardCharsets.UTF_8),
                null,
                Duration.ofMinutes(10));
        String behind =
            keepWarm
                ? modelId
                    + " is marked refused but keeps following the catalog until you drop it"
                    + " (lookalike drop "
                    + modelId
                    + ")."
                : modelId
                    + " is marked refused and stops consuming; drop it (lookalike drop "
                    + modelId
                    + ") or run reembed again to retry.";
        QualityGate.Result gateResult = JSON.treeToValue(check, QualityGate.Result.class);
        if (!ReembedConsole.report(out, err, gateResult, previous, gate, behind)) {
          refuse(
              admin,
              modelId,
              String.format(
                  Locale.ROOT,
                  "near-duplicate recall@1 %.3f below the gate %.3f",
                  gateResult.nearDuplicateRecall(),
                  gate));
          return GATE_FAILED;
        }
        ShopperChecks.Result shopper =
            JSON.treeToValue(check.path("shopper"), ShopperChecks.Result.class);
        ShopperChecksReport.print(out, shopper, previous);
        String worse = shopper.refusal(maxDrop);
        if (worse != null) {
          err.printf(
              Locale.ROOT, "Not switching: %s. %s stays active; %s%n", worse, previous, behind);
          refuse(admin, modelId, worse);
          return GATE_FAILED;
        }

        String shadowRefusal = shadow(admin, modelId, previous, out, err);
        if (shadowRefusal != null) {
          err.printf(
              Locale.ROOT,
              "Not switching: %s. %s stays active; %s%n",
              shadowRefusal,
              previous,
              behind);
          refuse(admin, modelId, shadowRefusal);
          return GATE_FAILED;
        }

        JsonNode activated =
            admin.send(
                "POST", "/v1/admin/models/" + modelId + "/activate", null, Duration.ofMinutes(2));
        out.printf(
            "Switched: searches now use %s (was %s).%n",
            activated.path("active").asText(), previous);
        if (dropOld && previous != null) {
          admin.send("DELETE", "/v1/admin/models/" + previous, null, Duration.ofMinutes(2));
          out.printf("Dropped %s.%n", previous);
        }
        return 0;
      } catch (ShadowWaitExpired e) {
        return GATE_FAILED;
      } catch (AdminClient.Failure e) {
        err.println(e.getMessage());
        return FAILED;
      }
    }

    private void checkShare(String option, Double value) {
      if (value != null && !(value >= 0 && value <= 1)) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(),
            String.format(Locale.ROOT, "%s must be between 0 and 1, got %s", option, value));
      }
    }

    private boolean shadowRequired() {
      return shadowMinOverlap != null || shadowMinAgreement != null || shadowMinQueries != null;
    }

    /** Mirrored searches the shadow minimums need. */
    private long shadowQueriesNeeded() {
      return shadowMinQueries == null ? DEFAULT_SHADOW_MIN_QUERIES : shadowMinQueries;
    }

    /**
     * Prints the shadow traffic's agreement (waiting for enough mirrored searches when a minimum is
     * required); the reason not to switch, or null.
     */
    private String shadow(
        AdminClient admin, String modelId, String previous, PrintWriter out, PrintWriter err)
        throws Exception {
      JsonNode models = admin.send("GET", "/v1/models", null);
      double share = models.path("shadowShare").asDouble(0);
      if (share <= 0) {
        if (shadowRequired()) {
          throw new AdminClient.Failure(
              "The gateway mirrors no live search (gateway.shadow.share=0): cannot require a"
                  + " shadow agreement; set gateway.shadow.share above 0, or leave out"
                  + " --shadow-min-*");
        }
        return null;
      }
      JsonNode shadow = shadowOf(models, modelId);
      if (shadowRequired()) {
        long needed = shadowQueriesNeeded();
        long deadline = System.nanoTime() + Duration.ofSeconds(shadowWaitS).toNanos();
        if (shadow.path("queries").asLong() < needed) {
          out.printf(
              "Waiting for %d live searches mirrored to %s (%d so far, gateway.shadow.share %s)…%n",
              needed, modelId, shadow.path("queries").asLong(), share);
          out.flush();
        }
        while (shadow.path("queries").asLong() < needed) {
          if (System.nanoTime() - deadline >= 0) {
            err.printf(
                "Not switching: only %d live searches were mirrored to %s within %d s; %d needed"
                    + " (--shadow-min-queries). %s stays active; run reembed again once the"
                    + " storefront searches, or lower --shadow-min-queries.%n",
                shadow.path("queries").asLong(), modelId, shadowWaitS, needed, previous);
            throw new ShadowWaitExpired();
          }
          Thread.sleep(pollMs);
          shadow = shadowOf(admin.send("GET", "/v1/models", null), modelId);
        }
      }
      long queries = shadow.path("queries").asLong();
      if (queries == 0) {
        out.printf(
            "  shadow traffic: no live search mirrored to %s yet (gateway.shadow.share %s)%n",
            modelId, share);
        out.flush();
        return null;
      }
      double overlap = shadow.path("top10Overlap").asDouble();
      double agreement = shadow.path("top1Agreement").asDouble();
      out.printf(
          Locale.ROOT,
          "  shadow traffic: %d live searches mirrored: top-1 agreement with %s %.3f, top-10 overlap"
              + " %.3f, score shift %+.3f (%d dropped, %d failed)%n",
          queries,
          previous,
          agreement,
          overlap,
          shadow.path("scoreShift").asDouble(0),
          shadow.path("dropped").asLong(),
          shadow.path("failed").asLong());
      out.flush();
      if (shadowMinOverlap != null && overlap < shadowMinOverlap) {
        return String.format(
            Locale.ROOT,
            "shadow top-10 overlap %.3f below --shadow-min-overlap %.3f on %d live searches",
            overlap,
            shadowMinOverlap,
            queries);
      }
      if (shadowMinAgreement != null && agreement < shadowMinAgreement) {
        return String.format(
            Locale.ROOT,
            "shadow top-1 agreement %.3f below --shadow-min-agreement %.3f on %d live searches",
            agreement,
            shadowMinAgreement,
            queries);
      }
      return null;
    }

    private static JsonNode shadowOf(JsonNode models, String modelId) {
      for (JsonNode m : models.path("models")) {
        if (modelId.equals(m.path("modelId").asText()) && m.path("shadow").isObject()) {
          return m.path("shadow");
        }
      }
      return JSON.createObjectNode().put("queries", 0);
    }

    private void refuse(AdminClient admin, String modelId, String reason) throws Exception {
      var body = JSON.createObjectNode().put("reason", reason).put("keepWarm", keepWarm);
      admin.send(
          "POST",
          "/v1/admin/models/" + modelId + "/refuse",
          body.toString(),
          Duration.ofMinutes(2));
    }

    private JsonNode waitUntilCaughtUp(AdminClient admin, String modelId) throws Exception {
      JsonNode[] last = new JsonNode[1];
      ReembedConsole.follow(
          () -> {
            JsonNode progress =
                admin.send("GET", "/v1/admin/models/" + modelId + "/progress", null);
            last[0] = progress;
            return new ReembedConsole.Step(
                progress.path("done").asLong(),
                progress.path("total").asLong(),
                progress.path("lag").asLong(),
                progress.path("caughtUp").asBoolean(),
                progress.path("reason").isTextual() ? progress.path("reason").asText() : null);
          },
          pollMs);
      return last[0];
    }
  }

  @Command(
      name = "models",
      mixinStandardHelpOptions = true,
      description = {
        "Lists the models: the active one, and those catching up, ready or refused (with why).",
        "Vectors and lag (records left to embed or index) for each, and for a candidate how its",
        "answers to mirrored live searches agree with the active model's (shadow traffic)."
      })
  static final class Models extends GatewayOption implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      try {
        JsonNode models = admin().send("GET", "/v1/models", null);
        out.printf(
            "%-40s %-12s %5s %9s %7s  %s%n", "MODEL", "STATE", "DIM", "VECTORS", "LAG", "SOURCE");
        for (JsonNode m : models.path("models")) {
          String url = m.path("url").asText("");
          out.printf(
              "%-40s %-12s %5d %9d %7d  %s%n",
              m.path("modelId").asText(),
              m.path("state").asText(),
              m.path("dimension").asInt(),
              m.path("vectors").asLong(),
              m.path("lag").asLong(),
              url.isEmpty() ? "(bundled default)" : url);
          if (m.path("reason").isTextual()) {
            out.printf("  refused: %s%n", m.path("reason").asText());
          }
          JsonNode shadow = m.path("shadow");
          if (shadow.path("queries").asLong() > 0) {
            out.printf(
                Locale.ROOT,
                "  shadow: %d live searches mirrored, top-1 agreement %.3f, top-10 overlap %.3f,"
                    + " score shift %+.3f%n",
                shadow.path("queries").asLong(),
                shadow.path("top1Agreement").asDouble(),
                shadow.path("top10Overlap").asDouble(),
                shadow.path("scoreShift").asDouble(0));
          }
        }
        return 0;
      } catch (AdminClient.Failure e) {
        spec.commandLine().getErr().println(e.getMessage());
        return FAILED;
      }
    }
  }

  @Command(
      name = "drop",
      mixinStandardHelpOptions = true,
      description = {
        "Drops a model that is not active, and everything it made.",
        "Stops its embedder and sink; deletes its index, its embeddings topic, its",
        "embedder's state and consumer groups. The active model cannot be dropped."
      })
  static final class Drop extends GatewayOption implements Callable<Integer> {
    @Parameters(
        paramLabel = "MODEL_ID",
        description = "The modelId, as `lookalike models` lists it.")
    String modelId;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
      try {
        admin().send("DELETE", "/v1/admin/models/" + modelId, null);
        spec.commandLine().getOut().printf("Dropped %s.%n", modelId);
        return 0;
      } catch (AdminClient.Failure e) {
        spec.commandLine().getErr().println(e.getMessage());
        return FAILED;
      }
    }
  }

  /** A small JSON client for the admin API; errors carry the gateway's message. */
  static final class AdminClient {
    private final HttpClient http =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final SecretSource secret;

    /** Where the bearer secret comes from, read on the first call. */
    interface SecretSource {
      String get() throws Failure;
    }

    AdminClient(String base, SecretSource secret) {
      this.base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
      this.secret = secret;
    }

    /** Quick calls (progress, lists): a gateway that stops answering must not hang the command. */
    JsonNode send(String method, String path, String json)
        throws IOException, InterruptedException {
      return send(method, path, json, Duration.ofSeconds(30));
    }

    /**
     * @param timeout how long the call may take: registering a model or running the check takes
     *     minutes
     */
    JsonNode send(String method, String path, String json, Duration timeout)
        throws IOException, InterruptedException {
      // The admin API takes JSON on every call that changes something (so no web page can send
      // one).
      boolean changes = !method.equals("GET");
      String payload = json == null && changes ? "{}" : json;
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(base + path))
              .timeout(timeout)
              .method(
                  method,
                  payload == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofString(payload))
              .header("Authorization", "Bearer " + secret.get());
      if (payload != null) {
        request.header("Content-Type", "application/json");
      }
      HttpResponse<String> response;
      try {
        response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      } catch (ConnectException e) {
        throw new Failure(
            "Cannot reach the gateway at " + base + " (is `lookalike local` running?)");
      } catch (IOException e) {
        throw new Failure(
            "Lost the gateway at "
                + base
                + " during "
                + method
                + " "
                + path
                + ": "
                + e
                + " (run the command again: it resumes)");
      }
      JsonNode body;
      try {
        body = JSON.readTree(response.body());
      } catch (IOException e) {
        body = JSON.createObjectNode().put("error", response.body());
      }
      if (response.statusCode() / 100 != 2) {
        throw new Failure(
            method
                + " "
                + path
                + " failed with "
                + response.statusCode()
                + " "
                + body.path("code").asText("")
                + ": "
                + body.path("error").asText(response.body()));
      }
      return body;
    }

    /** A refused or failed request. */
    static final class Failure extends IOException {
      Failure(String message) {
        super(message);
      }
    }
  }
}
