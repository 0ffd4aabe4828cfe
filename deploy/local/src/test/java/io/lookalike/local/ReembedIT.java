package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.SampleImages.Photo;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Re-embedding end to end in the local mode, on real parts: the in-process broker, the fetcher, two
 * real TorchScript models through DJL (the default MobileNetV2 and a 96-d model cut from it),
 * Lucene indexes, the gateway over HTTP, and the {@code lookalike reembed} command run in-process.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReembedIT {

  private static final int PRODUCTS = 80;
  private static final ObjectMapper JSON = new ObjectMapper();

  private Path tmp;
  private int kafkaPort;
  private int controllerPort;
  private LocalMode local;
  private KafkaProducer<String, ProductEvent> producer;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<Photo> photos = SampleImages.photos("test", PRODUCTS);
  private final List<Photo> extra = SampleImages.photos("validation", 12);
  private final Map<String, Long> versions = new ConcurrentHashMap<>();

  /** productId -> the photo it has now; deleted products are absent. */
  private final Map<String, Photo> live = new ConcurrentHashMap<>();

  private String model1;
  private String model2;
  private final Map<String, float[]> model2Vectors = new HashMap<>();

  @BeforeAll
  void startWithModel1Serving(@TempDir Path tmp) throws Exception {
    this.tmp = tmp;
    kafkaPort = freePort();
    controllerPort = freePort();
    startLocalMode();
    model1 = local.store().modelId();
    for (Photo photo : photos) {
      publishUpsert(productId(photo), photo);
    }
    producer.flush();
    await()
        .atMost(Duration.ofMinutes(3))
        .pollInterval(Duration.ofMillis(500))
        .until(() -> local.store().count() == PRODUCTS);
  }

  @AfterAll
  void stop() {
    stopLocalMode();
  }

  @Test
  @Order(0)
  void shouldReadItsOwnWritesThroughTheWebhookToken() throws Exception {
    Photo photo = SampleImages.photos("validation", 14).get(13); // not among the other photos
    String event =
        JSON.createObjectNode()
            .put("eventId", "ryw-1")
            .put("type", "UPSERT")
            .put("productId", "p-ryw")
            .put("version", 1)
            .put("occurredAt", Instant.now().toString())
            .<com.fasterxml.jackson.databind.node.ObjectNode>set(
                "product", JSON.createObjectNode().put("title", "Read your writes"))
            .<com.fasterxml.jackson.databind.node.ObjectNode>set(
                "images",
                JSON.createArrayNode()
                    .add(
                        JSON.createObjectNode()
                            .put("imageId", "main")
                            .put("url", photo.path().toUri().toString())))
            .toString();
    HttpResponse<String> accepted =
        http.send(
            HttpRequest.newBuilder(gateway("/v1/events"))
                .header(
                    "Authorization",
                    "Bearer "
                        + Files.readString(tmp.resolve("data").resolve("webhook.secret")).strip())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(event))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    String token = JSON.readTree(accepted.body()).get("token").asText();
    assertThat(token).startsWith("ct1.");

    // A search that asks to be consistent with the write finds it, however long the pipeline takes
    HttpResponse<String> found =
        http.send(
            HttpRequest.newBuilder(gateway("/v1/search?k=3&consistentWith=" + token))
                .header("Content-Type", "image/jpeg")
                .POST(HttpRequest.BodyPublishers.ofByteArray(photo.bytes()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(found.statusCode()).as(found.body()).isEqualTo(200);
    assertThat(JSON.readTree(found.body()).at("/results/0/productId").asText()).isEqualTo("p-ryw");
    JsonNode status = get("/v1/status?token=" + token);
    assertThat(status.get("searchable").asBoolean()).as(status.toString()).isTrue();
    assertThat(status.at("/changes/0/fetched").asBoolean()).isTrue();
    assertThat(status.at("/changes/0/models/" + model1 + "/indexed").asBoolean()).isTrue();
    assertThat(status.at("/changes/0/models/" + model1 + "/embedded").asBoolean()).isTrue();

    // A version that never comes: not fetched, and a consistent search gives up with 504
    String never =
        new io.lookalike.schemas.ChangeToken(
                List.of(new io.lookalike.schemas.ChangeToken.Change("p-ryw", 99, false)))
            .encode();
    JsonNode pending = get("/v1/status?token=" + never);
    assertThat(pending.get("searchable").asBoolean()).isFalse();
    assertThat(pending.at("/changes/0/fetched").asBoolean()).isFalse();
    assertThat(pending.at("/changes/0/models/" + model1 + "/indexed").asBoolean()).isFalse();
    HttpResponse<String> late =
        http.send(
            HttpRequest.newBuilder(gateway("/v1/search?k=3&consistentWithinMs=300"))
                .header("Consistent-With", never)
                .header("Content-Type", "image/jpeg")
                .POST(HttpRequest.BodyPublishers.ofByteArray(photo.bytes()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(late.statusCode()).as(late.body()).isEqualTo(504);
    assertThat(JSON.readTree(late.body()).get("code").asText()).isEqualTo("not_yet_searchable");
    HttpResponse<String> bad =
        http.send(
            HttpRequest.newBuilder(gateway("/v1/status?token=nonsense")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(bad.statusCode()).isEqualTo(400);

    // Deleting it again is read back the same way (and leaves the catalog as the other tests
    // expect)
    String delete =
        JSON.createObjectNode()
            .put("eventId", "ryw-2")
            .put("type", "DELETE")
            .put("productId", "p-ryw")
            .put("version", 2)
            .put("occurredAt", Instant.now().toString())
            .toString();
    HttpResponse<String> deleted =
        http.send(
            HttpRequest.newBuilder(gateway("/v1/events"))
                .header(
                    "Authorization",
                    "Bearer "
                        + Files.readString(tmp.resolve("data").resolve("webhook.secret")).strip())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(delete))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(202);
    String deleteToken = JSON.readTree(deleted.body()).get("token").asText();
    HttpResponse<String> gone =
        http.send(
            HttpRequest.newBuilder(gateway("/v1/search?k=3"))
                .header("Consistent-With", deleteToken)
                .header("Content-Type", "image/jpeg")
                .POST(HttpRequest.BodyPublishers.ofByteArray(photo.bytes()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(gone.statusCode()).as(gone.body()).isEqualTo(200);
    assertThat(JSON.readTree(gone.body()).at("/results/0/productId").asText())
        .isNotEqualTo("p-ryw");
    assertThat(local.store().imagesOf("p-ryw")).isEmpty();
    assertThat(get("/v1/status?token=" + deleteToken).get("searchable").asBoolean()).isTrue();
  }

  @Test
  @Order(0)
  void shouldServeEveryMetricTheAlertRulesAndTheDashboardName() throws Exception {
    // The dead-letter counters appear with the first dead letter: one for the fetcher (no such
    // file), one for the embedder (bytes that are no image, straight onto product-images).
    ProductEvent missing =
        ProductEvent.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setType(EventType.UPSERT)
            .setProductId("p-missing")
            .setVersion(1)
            .setOccurredAt(Instant.now())
            .setProduct(ProductMetadata.newBuilder().setTitle("Missing").build())
            .setImages(
                List.of(
                    ImageRef.newBuilder()
                        .setImageId("main")
                        .setUrl(tmp.resolve("no-such-photo.jpg").toUri().toString())
                        .setPosition(0)
                        .build()))
            .build();
    producer.send(new ProducerRecord<>(local.topics().productEvents(), "p-missing", missing)).get();
    byte[] garbage = "not an image at all".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    ProductImage image =
        ProductImage.newBuilder()
            .setProductId("p-garbage")
            .setImageId("main")
            .setVersion(1)
            .setOccurredAt(Instant.now())
            .setSourceUrl("file:///garbage.jpg")
            .setPosition(0)
            .setSha256(java.util.HexFormat.of().formatHex(new byte[32]))
            .setMediaType("image/jpeg")
            .setSizeBytes(garbage.length)
            .setWidth(10)
            .setHeight(10)
            .setBytes(java.nio.ByteBuffer.wrap(garbage))
            .setProduct(ProductMetadata.newBuilder().setTitle("Garbage").build())
            .build();
    try (var raw =
        new KafkaProducer<String, byte[]>(
            Map.of("bootstrap.servers", local.bootstrapServers()),
            new org.apache.kafka.common.serialization.StringSerializer(),
            new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      raw.send(
              new ProducerRecord<>(
                  local.topics().productImages(),
                  new ImageKey("p-garbage", "main").toString(),
                  Serdes.productImage().serialize(image)))
          .get();
    }
    searchModel();
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () ->
                metrics().contains("lookalike_fetcher_rejected_total")
                    && metrics().contains("lookalike_embedder_rejected_total"));

    String scraped = metrics();
    List<MonitoringFiles.Expr> all = new java.util.ArrayList<>(MonitoringFiles.ruleExpressions());
    all.addAll(MonitoringFiles.dashboardExpressions());
    Set<String> recorded = MonitoringFiles.recordedNames();
    Set<String> checked = new java.util.TreeSet<>();
    for (MonitoringFiles.Expr expr : all) {
      for (String name : MonitoringFiles.metricNames(expr.promql())) {
        if (recorded.contains(name)) {
          continue;
        }
        checked.add(name);
        assertThat(scraped)
            .as("%s names %s", expr, name)
            .containsPattern("(?m)^" + java.util.regex.Pattern.quote(name) + "[{ ]");
      }
    }
    System.out.println("Metrics the rules and dashboard name, all in /metrics: " + checked);
    assertThat(checked).hasSizeGreaterThanOrEqualTo(12);
    // The SLO's bucket is there
    assertThat(scraped).containsPattern("lookalike_freshness_seconds_bucket\\{[^}]*le=\"2.0\"");
    assertThat(scraped)
        .containsPattern("lookalike_model_active\\{[^}]*model=\"" + model1 + "\"[^}]*} 1");
  }

  @Test
  @Order(1)
  void shouldRefuseToSwitchWhenTheGateFailsAndSayWhy() throws Exception {
    Run run =
        cli(
            "reembed",
            "--model",
            testModel("bad_first_conv.pt"),
            "--gateway",
            gatewayUrl(),
            "--gate",
            "0.9");

    assertThat(run.exit()).as(run.toString()).isEqualTo(ModelCommands.GATE_FAILED);
    assertThat(run.err())
        .contains("Not switching: near-duplicate recall@1")
        .contains("below the gate 0.900")
        .contains(model1 + " stays active");
    JsonNode models = get("/v1/models");
    assertThat(models.get("active").asText()).isEqualTo(model1);
    String bad = otherModel(models, model1);
    assertThat(bad).startsWith("bad_first_conv_");
    assertThat(searchModel()).isEqualTo(model1);
    // Refused, shown so, and no longer consuming
    assertThat(modelNode(models, bad).get("state").asText()).isEqualTo("refused");
    assertThat(modelNode(models, bad).get("reason").asText()).contains("below the gate 0.900");
    assertThat(local.pipelines().pipeline(bad).consuming()).isFalse();
    Run listed = cli("models", "--gateway", gatewayUrl());
    assertThat(listed.out()).containsPattern(bad + " +refused").contains("refused: near-duplicate");
    assertThat(post("/v1/admin/models/" + bad + "/activate").body()).contains("refused_model");
    assertThat(metrics()).contains(bad);
    // Its whole replay is replay progress, none of it freshness (no live change came meanwhile)
    assertThat(local.registry().find("lookalike.indexer.replayed").tag("model", bad).counter())
        .satisfies(c -> assertThat(c.count()).isGreaterThanOrEqualTo(PRODUCTS));
    assertThat(local.registry().find("lookalike.freshness").tag("model", bad).timer().count())
        .isZero();
    assertThat(local.registry().find("lookalike.freshness").tag("model", model1).timer().count())
        .isGreaterThanOrEqualTo(PRODUCTS);

    assertThat(cli("drop", bad, "--gateway", gatewayUrl()).exit()).isZero();
    assertThat(get("/v1/models").get("models")).hasSize(1);
    assertThat(metrics()).doesNotContain(bad);
  }

  @Test
  @Order(1)
  void shouldMirrorLiveSearchesToACandidateAndRefuseItBelowTheRequiredShadowAgreement()
      throws Exception {
    // Given the live answer to a photo search before any candidate exists
    JsonNode before = photoSearch(photos.get(3));
    // A shadow minimum outside [0, 1] is refused before anything is registered
    Run outOfRange =
        cli(
            "reembed",
            "--model",
            testModel("bad_first_conv.pt"),
            "--gateway",
            gatewayUrl(),
            "--shadow-min-overlap",
            "1.5");
    assertThat(outOfRange.exit()).as(outOfRange.toString()).isEqualTo(2);
    assertThat(outOfRange.err()).contains("--shadow-min-overlap must be between 0 and 1, got 1.5");
    assertThat(get("/v1/models").get("models")).hasSize(1);

    // When a candidate re-embeds while a storefront searches, and the switch needs a shadow
    // agreement it cannot have (its first convolution is scrambled)
    List<Search> searches = new CopyOnWriteArrayList<>();
    AtomicBoolean running = new AtomicBoolean(true);
    CompletableFuture<Void> client =
        CompletableFuture.runAsync(() -> searchContinuously(searches, running));
    Run run;
    try {
      run =
          cli(
              "reembed",
              "--model",
              testModel("bad_first_conv.pt"),
              "--gateway",
              gatewayUrl(),
              "--gate",
              "0",
              "--max-drop",
              "1",
              "--shadow-min-overlap",
              "0.99",
              "--shadow-min-queries",
              "3",
              "--poll-ms",
              "200");
    } finally {
      running.set(false);
      client.get();
    }

    // Then it is refused with the reason and the measured numbers, and nothing switched
    assertThat(run.exit()).as(run.toString()).isEqualTo(ModelCommands.GATE_FAILED);
    assertThat(run.out()).contains("shadow traffic: ").contains("live searches mirrored");
    assertThat(run.err())
        .contains("Not switching: shadow top-10 overlap")
        .contains("below --shadow-min-overlap 0.990")
        .contains(model1 + " stays active");
    JsonNode models = get("/v1/models");
    assertThat(models.get("active").asText()).isEqualTo(model1);
    assertThat(models.get("shadowShare").asDouble()).isEqualTo(1.0);
    String candidate = otherModel(models, model1);
    JsonNode shadow = modelNode(models, candidate).get("shadow");
    assertThat(shadow.get("against").asText()).isEqualTo(model1);
    assertThat(shadow.get("queries").asLong()).isGreaterThanOrEqualTo(3);
    assertThat(shadow.get("top10Overlap").asDouble()).isLessThan(0.99);
    assertThat(shadow.has("top1Agreement")).isTrue();
    assertThat(shadow.has("scoreShift")).isTrue();
    assertThat(modelNode(models, candidate).get("state").asText()).isEqualTo("refused");
    assertThat(modelNode(models, candidate).get("reason").asText())
        .contains("shadow top-10 overlap");
    assertThat(modelNode(models, model1).get("shadow").isNull()).isTrue();
    assertThat(metrics())
        .containsPattern(
            "lookalike_shadow_searches_total\\{[^}]*model=\""
                + candidate
                + "\",outcome=\"compared\"")
        .containsPattern("lookalike_shadow_top10_overlap\\{[^}]*model=\"" + candidate + "\"");
    // and the live searches were answered by the live model all along, the same as without shadow
    assertThat(searches)
        .isNotEmpty()
        .allSatisfy(s -> assertThat(s.status()).as(s.toString()).isEqualTo(200))
        .allSatisfy(s -> assertThat(s.modelId()).isEqualTo(model1));
    JsonNode after = photoSearch(photos.get(3));
    assertThat(after.get("modelId").asText()).isEqualTo(model1);
    assertThat(after.get("results").size()).isEqualTo(before.get("results").size());
    for (int i = 0; i < before.get("results").size(); i++) {
      JsonNode was = before.get("results").get(i);
      JsonNode is = after.get("results").get(i);
      assertThat(is.get("productId").asText()).isEqualTo(was.get("productId").asText());
      assertThat(is.get("score").asDouble())
          .isCloseTo(was.get("score").asDouble(), org.assertj.core.api.Assertions.within(1e-6));
    }

    assertThat(cli("drop", candidate, "--gateway", gatewayUrl()).exit()).isZero();
    assertThat(get("/v1/models").get("models")).hasSize(1);
    assertThat(metrics()).doesNotContain(candidate);
  }

  private JsonNode photoSearch(Photo photo) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(gateway("/v1/search?k=10"))
                .header("Content-Type", "image/jpeg")
                .POST(HttpRequest.BodyPublishers.ofByteArray(photo.bytes()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  @Test
  @Order(1)
  void shouldRefuseAModelWithTooManyDimensionsAtRegistrationLeavingNothingBehind()
      throws Exception {
    Run run = cli("reembed", "--model", testModel("too_many_dims.pt"), "--gateway", gatewayUrl());

    assertThat(run.exit()).as(run.toString()).isEqualTo(ModelCommands.FAILED);
    assertThat(run.err())
        .contains("failed with 400 bad_model")
        .contains("outputs 5000 dimensions")
        .contains("at most 4096");
    assertThat(get("/v1/models").get("models")).hasSize(1);
    assertThat(Files.readString(tmp.resolve("data").resolve("models.json")))
        .doesNotContain("too_many_dims");
    try (var admin =
        org.apache.kafka.clients.admin.Admin.create(
            Map.of("bootstrap.servers", local.bootstrapServers()))) {
      assertThat(admin.listTopics().names().get()).noneMatch(t -> t.contains("too_many_dims"));
    }
  }

  @Test
  @Order(1)
  void shouldRefuseAModelThatOutputsNanAtRegistrationWithTheReason() throws Exception {
    Run run = cli("reembed", "--model", testModel("nan_out.pt"), "--gateway", gatewayUrl());

    assertThat(run.exit()).as(run.toString()).isEqualTo(ModelCommands.FAILED);
    assertThat(run.err()).contains("400 bad_model").contains("outputs NaN or infinity");
    assertThat(get("/v1/models").get("models")).hasSize(1);
  }

  @Test
  @Order(1)
  void shouldStopTheReembedOfAModelWhoseFirstBatchIsAllZerosWithTheReason() throws Exception {
    Run run = cli("reembed", "--model", testModel("zeros_out.pt"), "--gateway", gatewayUrl());

    assertThat(run.exit()).as(run.toString()).isEqualTo(ModelCommands.GATE_FAILED);
    assertThat(run.err())
        .contains("was refused: broken model: its first batch gave no usable vector")
        .contains(model1 + " stays active")
        .doesNotContain("Caught up");
    JsonNode models = get("/v1/models");
    String zeros = otherModel(models, model1);
    assertThat(modelNode(models, zeros).get("state").asText()).isEqualTo("refused");
    // The embedding thread flags the model; the pipeline stops just after, off that thread
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> !local.pipelines().pipeline(zeros).consuming());
    assertThat(get("/v1/models").toString()).contains("broken model: its first batch");
    assertThat(searchModel()).isEqualTo(model1);

    assertThat(cli("drop", zeros, "--gateway", gatewayUrl()).exit()).isZero();
    assertThat(metrics()).doesNotContain(zeros);
  }

  @Test
  @Order(2)
  void shouldSwitchWithoutAFailedOrMixedSearchWhileTheCatalogChanges() throws Exception {
    // Given a client searching all the time and catalog changes arriving all along the replay
    List<Search> searches = new CopyOnWriteArrayList<>();
    AtomicBoolean running = new AtomicBoolean(true);
    CompletableFuture<Void> client =
        CompletableFuture.runAsync(() -> searchContinuously(searches, running));
    CompletableFuture<Void> changes = CompletableFuture.runAsync(this::changeTheCatalog);

    // When the operator re-embeds to model 2: the gate refuses it (near-duplicates pass, categories
    // do not)
    Run refused =
        cli(
            "reembed",
            "--model",
            testModel("mobilenet_v2_block13.pt"),
            "--gateway",
            gatewayUrl(),
            "--gate",
            "0.8",
            "--poll-ms",
            "200");
    assertThat(refused.exit()).as(refused.toString()).isEqualTo(ModelCommands.GATE_FAILED);
    assertThat(refused.err()).contains("Not switching: category precision@10");
    // and the operator accepts the loss knowingly
    Run run =
        cli(
            "reembed",
            "--model",
            testModel("mobilenet_v2_block13.pt"),
            "--gateway",
            gatewayUrl(),
            "--gate",
            "0.8",
            "--max-drop",
            "1",
            "--poll-ms",
            "200");
    long switched = System.nanoTime();
    changes.get();
    // Keep searching until a few searches have both started after the switch and been answered
    // (a count, not a quiet period: on a loaded machine each search may take long).
    await()
        .atMost(Duration.ofSeconds(120))
        .until(() -> searches.stream().filter(s -> s.startNanos() > switched).count() >= 5);
    running.set(false);
    client.get();

    // Then it switched, and no search failed or mixed models
    assertThat(run.exit()).as(run.toString()).isZero();
    assertThat(run.out())
        .contains("near-duplicate recall@1")
        .contains("agreement@1")
        .contains("Switched");
    model2 = get("/v1/models").get("active").asText();
    assertThat(model2).startsWith("mobilenet_v2_block13_").isNotEqualTo(model1);
    assertThat(searches).allSatisfy(s -> assertThat(s.status()).as(s.toString()).isEqualTo(200));
    assertThat(searches.stream().filter(s -> s.endNanos() < switched))
        .isNotEmpty()
        .anySatisfy(s -> assertThat(s.modelId()).isEqualTo(model1));
    long firstModel2 =
        searches.stream()
            .filter(s -> s.modelId().equals(model2))
            .mapToLong(Search::endNanos)
            .min()
            .orElseThrow();
    assertThat(searches.stream().filter(s -> s.startNanos() > firstModel2))
        .as("after the first answer of model 2, only model 2")
        .isNotEmpty()
        .allSatisfy(s -> assertThat(s.modelId()).isEqualTo(model2));
    assertThat(searches.stream().filter(s -> s.startNanos() > switched))
        .allSatisfy(s -> assertThat(s.modelId()).isEqualTo(model2));
    assertThat(searches).allSatisfy(s -> assertThat(s.modelId()).isIn(model1, model2));

    // And the new index holds exactly the live images, with the changes made during the replay
    VectorStore store2 = local.pipelines().pipeline(model2).store();
    VectorStore store1 = local.pipelines().pipeline(model1).store();
    awaitCaughtUp(model2);
    awaitCaughtUp(model1);
    assertThat(store2.count()).isEqualTo(live.size());
    assertIndexMatchesTheCatalog(store2, store1);
    for (String productId :
        List.of(productId(photos.get(0)), productId(photos.get(5)), productId(photos.get(50)))) {
      model2Vectors.put(productId, store2.imagesOf(productId).get(0).vector());
    }

    // And the old model still answers when switched back
    assertThat(post("/v1/admin/models/" + model1 + "/activate").statusCode()).isEqualTo(200);
    assertThat(searchModel()).isEqualTo(model1);
    Run list = cli("models", "--gateway", gatewayUrl());
    assertThat(list.out())
        .contains(model1 + " ")
        .contains("active")
        .contains(model2 + " ")
        .contains("ready");
  }

  @Test
  @Order(3)
  void shouldResumeAnInterruptedReembedAfterARestartOfTheLocalMode() throws Exception {
    // Given model 2 dropped (model 1 serves again), and a new replay through it interrupted by a
    // restart
    assertThat(cli("drop", model2, "--gateway", gatewayUrl()).exit()).isZero();
    double embeddedEarlier =
        embeddedCount(model2); // this JVM's counter still holds the first replay's
    String url = gatewayUrl();
    CompletableFuture<Run> first =
        CompletableFuture.supplyAsync(
            () ->
                cli(
                    "reembed",
                    "--model",
                    testModel("mobilenet_v2_block13.pt"),
                    "--gateway",
                    url,
                    "--poll-ms",
                    "100"));
    JsonNode atStop =
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(50))
            .until(() -> progressOrNull(model2), p -> p != null && p.get("done").asLong() > 0);
    LocalMode stopped = local;
    stopLocalMode();
    double embeddedBefore =
        embeddedCount(stopped, model2) - embeddedEarlier; // counted until its embedder stopped
    Run interrupted = first.get();
    startLocalMode();
    JsonNode afterRestart = progressOrNull(model2);

    // When the same command runs again, dropping the old model at the end
    Run run =
        cli(
            "reembed",
            "--model",
            testModel("mobilenet_v2_block13.pt"),
            "--gateway",
            gatewayUrl(),
            "--drop-old",
            // block13 is worse on categories (test 2): accepted knowingly, as there
            "--max-drop",
            "1",
            "--poll-ms",
            "200");

    // Then it resumed: the model was registered still, nothing embedded twice beyond the
    // transaction bound
    assertThat(interrupted.exit()).as(interrupted.toString()).isNotZero();
    assertThat(run.exit()).as(run.toString()).isZero();
    assertThat(afterRestart).as("model 2's pipeline comes back with the local mode").isNotNull();
    double embedded = embeddedBefore + embeddedCount(model2);
    System.out.printf(
        "interrupted at %s of %s records; after restart %s; embedded %.0f + %.0f for %d live images%n",
        atStop.get("done"),
        atStop.get("total"),
        afterRestart.get("done"),
        embeddedBefore,
        embedded - embeddedBefore,
        live.size());
    // Every image record seen (live or since replaced) at most once, plus one uncommitted batch per
    // partition.
    long imageRecords = PRODUCTS + extra.size();
    assertThat(embedded).isLessThanOrEqualTo(imageRecords + 2 * 32);
    assertThat(get("/v1/models").get("active").asText()).isEqualTo(model2);
    assertThat(get("/v1/models").get("models")).hasSize(1);
    assertThat(tmp.resolve("data/index/" + model1)).doesNotExist();

    // And the result is the same as the uninterrupted replay's
    VectorStore store2 = local.store();
    assertThat(store2.count()).isEqualTo(live.size());
    for (var expected : model2Vectors.entrySet()) {
      float[] vector = store2.imagesOf(expected.getKey()).get(0).vector();
      for (int i = 0; i < vector.length; i++) {
        assertThat(vector[i])
            .isCloseTo(expected.getValue()[i], org.assertj.core.api.Assertions.within(1e-4f));
      }
    }
    assertThat(searchModel()).isEqualTo(model2);
  }

  // --- the catalog ---

  /** Creates, image changes and deletes, one every 250 ms. */
  private void changeTheCatalog() {
    try {
      for (int i = 0; i < 6; i++) {
        Photo created = extra.get(i);
        publishUpsert("new-" + created.id(), created);
        Thread.sleep(250);
        Photo changed = photos.get(10 + i);
        publishUpsert(productId(changed), extra.get(6 + i));
        Thread.sleep(250);
        publishDelete(productId(photos.get(30 + i)));
        Thread.sleep(250);
      }
      producer.flush();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private void assertIndexMatchesTheCatalog(VectorStore index, VectorStore reference) {
    Set<String> all = new HashSet<>(versions.keySet());
    for (String productId : all) {
      List<StoredImage> images = index.imagesOf(productId);
      if (!live.containsKey(productId)) {
        assertThat(images).as("deleted product %s", productId).isEmpty();
        continue;
      }
      assertThat(images).as("live product %s", productId).hasSize(1);
      StoredImage expected = reference.get(new ImageKey(productId, "main")).orElseThrow();
      assertThat(images.get(0).sha256()).as("image of %s", productId).isEqualTo(expected.sha256());
      assertThat(images.get(0).version()).isEqualTo(expected.version());
    }
    // The changed products carry their new photo
    for (int i = 0; i < 6; i++) {
      assertThat(index.imagesOf(productId(photos.get(10 + i))).get(0).sha256())
          .isEqualTo(sha256(extra.get(6 + i)));
    }
  }

  private void publishUpsert(String productId, Photo photo) throws Exception {
    long version = versions.merge(productId, 1L, Long::sum);
    ProductEvent event =
        ProductEvent.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setType(EventType.UPSERT)
            .setProductId(productId)
            .setVersion(version)
            .setOccurredAt(Instant.now())
            .setProduct(
                ProductMetadata.newBuilder()
                    .setTitle("Product " + productId)
                    .setBrand("Acme")
                    .setCategory(photo.category())
                    .build())
            .setImages(
                List.of(
                    ImageRef.newBuilder()
                        .setImageId("main")
                        .setUrl(photo.path().toUri().toString())
                        .setPosition(0)
                        .build()))
            .build();
    producer.send(new ProducerRecord<>(local.topics().productEvents(), productId, event)).get();
    live.put(productId, photo);
  }

  private void publishDelete(String productId) throws Exception {
    long version = versions.merge(productId, 1L, Long::sum);
    ProductEvent event =
        ProductEvent.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setType(EventType.DELETE)
            .setProductId(productId)
            .setVersion(version)
            .setOccurredAt(Instant.now())
            .setProduct(null)
            .setImages(List.of())
            .build();
    producer.send(new ProducerRecord<>(local.topics().productEvents(), productId, event)).get();
    live.remove(productId);
  }

  // --- searching ---

  record Search(long startNanos, long endNanos, int status, String modelId, String by) {}

  private void searchContinuously(List<Search> searches, AtomicBoolean running) {
    int i = 0;
    while (running.get()) {
      i++;
      // By photo (embedded with the active model) and by a product that is never deleted.
      boolean byPhoto = i % 2 == 0;
      HttpRequest request =
          byPhoto
              ? HttpRequest.newBuilder(gateway("/v1/search?k=5"))
                  .header("Content-Type", "image/jpeg")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(photos.get(i % 10).bytes()))
                  .build()
              : HttpRequest.newBuilder(gateway("/v1/search"))
                  .header("Content-Type", "application/json")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"productId\": \""
                              + productId(photos.get(60 + i % 10))
                              + "\", \"k\": 5}"))
                  .build();
      long start = System.nanoTime();
      try {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        JsonNode body = JSON.readTree(response.body());
        searches.add(
            new Search(
                start,
                System.nanoTime(),
                response.statusCode(),
                response.statusCode() == 200 ? body.get("modelId").asText() : body.toString(),
                byPhoto ? "photo" : "product"));
        Thread.sleep(20);
      } catch (IOException e) {
        searches.add(
            new Search(start, System.nanoTime(), -1, e.toString(), byPhoto ? "photo" : "product"));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private String searchModel() throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(gateway("/v1/search?k=3"))
                .header("Content-Type", "image/jpeg")
                .POST(HttpRequest.BodyPublishers.ofByteArray(photos.get(1).bytes()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.at("/results/0/productId").asText()).isEqualTo(productId(photos.get(1)));
    return body.get("modelId").asText();
  }

  // --- the local mode and its admin API ---

  private void startLocalMode() throws Exception {
    local =
        new LocalMode(
                new LocalMode.Options(
                    tmp.resolve("data"),
                    "127.0.0.1",
                    kafkaPort,
                    controllerPort,
                    0,
                    "127.0.0.1",
                    null,
                    2,
                    false,
                    Map.of(
                        "gateway.consistency.max.wait.ms",
                        "60000",
                        // every live search is mirrored to the models catching up (shadow traffic)
                        "gateway.shadow.share",
                        "1")))
            .start();
    producer = LocalMode.eventProducer(local.bootstrapServers());
  }

  private void stopLocalMode() {
    if (producer != null) {
      producer.close();
      producer = null;
    }
    if (local != null) {
      local.close();
      local = null;
    }
  }

  private void awaitCaughtUp(String modelId) {
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> local.pipelines().progress(modelId).caughtUp());
  }

  private double embeddedCount(String modelId) {
    return embeddedCount(local, modelId);
  }

  private static double embeddedCount(LocalMode local, String modelId) {
    var counter =
        local.registry().find("lookalike.embedder.embedded").tag("model", modelId).counter();
    return counter == null ? 0 : counter.count();
  }

  private JsonNode progressOrNull(String modelId) {
    if (modelId == null) {
      return null;
    }
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(gateway("/v1/admin/models/" + modelId + "/progress"))
                  .header("Authorization", "Bearer " + adminSecret())
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? JSON.readTree(response.body()) : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private JsonNode get(String path) throws Exception {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(gateway(path)).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  private HttpResponse<String> post(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(gateway(path))
            .header("Authorization", "Bearer " + adminSecret())
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private String metrics() throws Exception {
    return http.send(
            HttpRequest.newBuilder(gateway("/metrics")).GET().build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private static JsonNode modelNode(JsonNode models, String modelId) {
    for (JsonNode m : models.get("models")) {
      if (m.get("modelId").asText().equals(modelId)) {
        return m;
      }
    }
    throw new AssertionError("no model " + modelId + " in " + models);
  }

  private String adminSecret() throws IOException {
    return Files.readString(tmp.resolve("data").resolve(LocalMode.ADMIN_SECRET_FILE)).strip();
  }

  private static String otherModel(JsonNode models, String not) {
    for (JsonNode m : models.get("models")) {
      if (!m.get("modelId").asText().equals(not)) {
        return m.get("modelId").asText();
      }
    }
    throw new AssertionError("no other model in " + models);
  }

  record Run(int exit, String out, String err) {}

  /**
   * A model command against this test's local mode, which reads the admin secret from its data
   * directory.
   */
  private Run cli(String... args) {
    String[] withDataDir = java.util.Arrays.copyOf(args, args.length + 2);
    withDataDir[args.length] = "--data-dir";
    withDataDir[args.length + 1] = tmp.resolve("data").toString();
    return run(withDataDir);
  }

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine command = new CommandLine(new Lookalike());
    command.setOut(new PrintWriter(out, true));
    command.setErr(new PrintWriter(err, true));
    int exit = command.execute(args);
    System.out.print(out);
    System.out.print(err);
    return new Run(exit, out.toString(), err.toString());
  }

  private static String testModel(String file) {
    try {
      return Path.of(ReembedIT.class.getResource("/models/" + file).toURI()).toString();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private String gatewayUrl() {
    return "http://127.0.0.1:" + local.gatewayPort();
  }

  private URI gateway(String path) {
    return URI.create(gatewayUrl() + path);
  }

  private static String sha256(Photo photo) {
    try {
      return java.util.HexFormat.of()
          .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(photo.bytes()));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String productId(Photo photo) {
    return "p-" + photo.id();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
