package io.lookalike.gateway;

import static io.lookalike.gateway.GatewayFixture.multipart;
import static io.lookalike.gateway.GatewayFixture.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.ImageSafetyConfig;
import io.lookalike.image.NearDuplicates;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.schemas.ImageKey;
import io.lookalike.store.StoredImage;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.lookalike.testkit.HostileImages;
import io.lookalike.testkit.SampleImages;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway over real HTTP, on the real model and a real Lucene index of sample photos. */
class GatewayIT {

  private static final int PRODUCTS = 30;
  private static final long MAX_UPLOAD = 2L * 1024 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path tmp;

  private static DjlEmbedder embedder;
  private static LuceneVectorStore store;
  private static LuceneVectorStore otherModelStore;
  private static final AtomicReference<ActiveModel> active = new AtomicReference<>();
  private static final AtomicBoolean extraCheckUp = new AtomicBoolean(true);
  private static PrometheusMeterRegistry registry;
  private static GatewayServer server;
  private static List<SampleImages.Photo> photos;
  private static List<StoredImage> indexed;
  private static HttpClient http;
  private static String base;

  @BeforeAll
  static void startGateway() {
    embedder = DjlEmbedder.loadDefault();
    String modelId = embedder.model().modelId();
    int dimension = embedder.model().dimension();
    store = LuceneVectorStore.open(tmp.resolve(modelId), modelId, dimension);
    otherModelStore =
        LuceneVectorStore.open(tmp.resolve("other"), "other_model_0badc0de", dimension);
    active.set(new ActiveModel(embedder, store));

    photos = SampleImages.photos("test", PRODUCTS);
    indexed = GatewayFixture.index(embedder, store, photos, 16);
    // Products p0..p4 get a second image (a tighter crop of the first), so grouping has work to do.
    List<StoredImage> second = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      byte[] crop =
          NearDuplicates.jpeg(
              NearDuplicates.cropCentre(NearDuplicates.decode(photos.get(i).bytes()), 0.9), 0.9f);
      float[] v = GatewayFixture.vector(embedder.embed(List.of(crop)).get(0));
      second.add(
          GatewayFixture.image(
              "p" + i,
              "crop",
              1,
              v,
              photos.get(i).path().toUri().toString(),
              photos.get(i).category(),
              i));
    }
    // One product whose image lives on the web: the image endpoint redirects to it.
    StoredImage last = indexed.get(PRODUCTS - 1);
    second.add(
        GatewayFixture.image(
            last.productId(),
            last.imageId(),
            0,
            last.vector(),
            "https://images.example.com/p29.jpg",
            last.category(),
            PRODUCTS - 1));
    store.write(second, List.of());

    GatewayConfig config =
        new GatewayConfig(
            Map.of(
                GatewayConfig.PORT_CONFIG,
                "0",
                GatewayConfig.HOST_CONFIG,
                "127.0.0.1",
                GatewayConfig.MAX_UPLOAD_BYTES_CONFIG,
                Long.toString(MAX_UPLOAD),
                GatewayConfig.IMAGES_ALLOWED_DIR_CONFIG,
                SampleImages.datasetDir().toString()));
    // file: URLs are off by default in the downloader (the local mode turns them on); the SSRF
    // guard stays on.
    ImageDownloader downloader =
        ImageDownloader.from(
            new ImageSafetyConfig(
                Map.of(
                    ImageSafetyConfig.FETCH_ALLOW_FILE_CONFIG, "true",
                    ImageSafetyConfig.FETCH_RETRIES_CONFIG, "0",
                    ImageSafetyConfig.FETCH_MAX_BYTES_CONFIG, Long.toString(MAX_UPLOAD))));
    SearchService service =
        new SearchService(
            active::get,
            PhotoValidator.of(new ImageNormaliser(MAX_UPLOAD, 40_000_000L, 640)),
            UrlFetcher.of(downloader),
            config);
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    server =
        new GatewayServer(config, service, registry)
            .addHealthCheck(
                "extra",
                () ->
                    extraCheckUp.get()
                        ? HealthCheck.Status.up("RUNNING")
                        : HealthCheck.Status.down("ERROR"))
            .addRoutes(
                routes -> {
                  routes.get("/v1/extra/ping", ctx -> ctx.result("pong"));
                  routes.post(
                      "/v1/extra/refuse",
                      ctx -> {
                        throw new SearchException(ErrorCode.NOT_CAUGHT_UP, "not ready yet");
                      });
                });
    int port = server.start();
    base = "http://127.0.0.1:" + port;
    http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  @AfterAll
  static void stopGateway() {
    if (server != null) {
      server.close();
    }
    if (store != null) {
      store.close();
    }
    if (otherModelStore != null) {
      otherModelStore.close();
    }
    if (embedder != null) {
      embedder.close();
    }
  }

  @Test
  void shouldFindUploadedPhotoFirstByMultipart() throws Exception {
    long sentAt = System.nanoTime();
    HttpResponse<String> response =
        send(
            http,
            multipart(
                uri("/v1/search"),
                Map.of("k", "5"),
                "photo.jpg",
                "image/jpeg",
                photos.get(3).bytes()));
    long roundTripMs = (System.nanoTime() - sentAt) / 1_000_000;

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.get("modelId").asText()).isEqualTo(embedder.model().modelId());
    assertThat(body.get("by").asText()).isEqualTo("photo");
    // The server's own time is a whole number of milliseconds within what the client waited.
    assertThat(body.get("tookMs").isIntegralNumber()).isTrue();
    assertThat(body.get("tookMs").asLong()).isBetween(0L, roundTripMs);
    JsonNode results = body.get("results");
    assertThat(results).hasSize(5);
    JsonNode first = results.get(0);
    assertThat(first.get("productId").asText()).isEqualTo("p3");
    assertThat(first.get("score").floatValue()).isGreaterThan(0.9f);
    assertThat(first.get("title").asText()).isEqualTo(photos.get(3).category() + " 3");
    assertThat(first.get("brand").asText()).isEqualTo("acme");
    assertThat(first.get("category").asText()).isEqualTo(photos.get(3).category());
    assertThat(first.get("price").asDouble()).isEqualTo(25.0);
    assertThat(first.get("currency").asText()).isEqualTo("EUR");
    assertThat(first.get("availability").asText()).isEqualTo("OUT_OF_STOCK");
    assertThat(first.get("imageUrl").asText()).isEqualTo("/v1/images/p3/main");
    assertThat(first.has("imageId")).isTrue();
  }

  @Test
  void shouldFindPhotoSentAsRawBody() throws Exception {
    HttpResponse<String> response =
        send(
            http,
            HttpRequest.newBuilder(uri("/v1/search?k=3"))
                .header("Content-Type", "image/jpeg")
                .POST(BodyPublishers.ofByteArray(photos.get(12).bytes()))
                .build());

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode results = JSON.readTree(response.body()).get("results");
    assertThat(results).hasSize(3);
    assertThat(results.get(0).get("productId").asText()).isEqualTo("p12");
  }

  @Test
  void shouldFindNearDuplicateOfProductPhotoFirst() throws Exception {
    for (int i : new int[] {10, 17, 21}) {
      byte[] altered = NearDuplicates.of(photos.get(i).bytes());
      JsonNode results =
          searchOk(multipart(uri("/v1/search"), Map.of(), "mine.jpg", "image/jpeg", altered));
      assertThat(results.get(0).get("productId").asText())
          .as("near duplicate of p%d", i)
          .isEqualTo("p" + i);
    }
  }

  @Test
  void shouldSearchByImageUrl() throws Exception {
    ObjectNode request =
        JSON.createObjectNode()
            .put("imageUrl", photos.get(7).path().toUri().toString())
            .put("k", 4);
    JsonNode body = JSON.readTree(send(http, json(request)).body());

    assertThat(body.get("by").asText()).isEqualTo("url");
    assertThat(body.get("results").get(0).get("productId").asText()).isEqualTo("p7");
  }

  @Test
  void shouldSearchTheCropOfAnUploadAsIfTheCroppedPhotoWereSent() throws Exception {
    // Given two catalog photos side by side in one upload
    byte[] pair = sideBySide(photos.get(4).bytes(), photos.get(9).bytes());
    java.awt.image.BufferedImage decoded = NearDuplicates.decode(pair);
    int half = decoded.getWidth() / 2;

    for (String side : List.of("left", "right")) {
      String crop = side.equals("left") ? "0,0,0.5,1" : "0.5,0,0.5,1";
      String expected = side.equals("left") ? "p4" : "p9";
      // When the gateway crops the upload, and when the client sends the same half cut out itself
      JsonNode cropped =
          searchOk(
              multipart(
                  uri("/v1/search"),
                  Map.of("k", "5", "crop", crop),
                  "pair.jpg",
                  "image/jpeg",
                  pair));
      byte[] cutHere =
          NearDuplicates.jpeg(
              decoded.getSubimage(side.equals("left") ? 0 : half, 0, half, decoded.getHeight()),
              0.95f);
      JsonNode sentCut =
          searchOk(
              multipart(uri("/v1/search"), Map.of("k", "5"), "half.jpg", "image/jpeg", cutHere));

      // Then both find that half's product first, with the same leading ranking and scores (the
      // client's cut goes through one more JPEG encoding)
      assertThat(cropped.get(0).get("productId").asText()).as(side).isEqualTo(expected);
      assertThat(productIds(cropped).subList(0, 3))
          .as(side)
          .isEqualTo(productIds(sentCut).subList(0, 3));
      for (int i = 0; i < 3; i++) {
        assertThat(cropped.get(i).get("score").doubleValue())
            .as("%s, result %d", side, i)
            .isCloseTo(
                sentCut.get(i).get("score").doubleValue(),
                org.assertj.core.data.Offset.offset(0.02));
      }
    }
    // The whole pair is neither photo as clearly as its halves.
    JsonNode whole =
        searchOk(multipart(uri("/v1/search"), Map.of("k", "5"), "pair.jpg", "image/jpeg", pair));
    assertThat(whole.get(0).get("score").doubleValue())
        .isLessThan(
            searchOk(
                    multipart(
                        uri("/v1/search"),
                        Map.of("k", "5", "crop", "0,0,0.5,1"),
                        "pair.jpg",
                        "image/jpeg",
                        pair))
                .get(0)
                .get("score")
                .doubleValue());
  }

  @Test
  void shouldSearchTheCropOfAnImageUrlAndOfARawBody() throws Exception {
    byte[] pair = sideBySide(photos.get(4).bytes(), photos.get(9).bytes());
    Path file = tmp.resolve("pair.jpg");
    Files.write(file, pair);

    ObjectNode asString =
        JSON.createObjectNode()
            .put("imageUrl", file.toUri().toString())
            .put("k", 3)
            .put("crop", "0.5,0,0.5,1");
    assertThat(searchOk(json(asString)).get(0).get("productId").asText()).isEqualTo("p9");
    ObjectNode asArray = JSON.createObjectNode().put("imageUrl", file.toUri().toString());
    asArray.putArray("crop").add(0).add(0).add(0.5).add(1);
    assertThat(searchOk(json(asArray)).get(0).get("productId").asText()).isEqualTo("p4");

    JsonNode raw =
        searchOk(
            HttpRequest.newBuilder(uri("/v1/search?k=3&crop=0.5,0,0.5,1"))
                .header("Content-Type", "image/jpeg")
                .POST(BodyPublishers.ofByteArray(pair))
                .build());
    assertThat(raw.get(0).get("productId").asText()).isEqualTo("p9");
  }

  @Test
  void shouldRefuseACropThatIsEmptyOutsideThePhotoOrWithoutAPhoto() throws Exception {
    byte[] photo = photos.get(2).bytes();
    for (String bad :
        List.of("0,0,0,1", "0.5,0,0.6,1", "-0.1,0,0.5,0.5", "0,0,2,1", "1,2,3", "a,b,c,d")) {
      HttpResponse<String> response =
          send(
              http,
              multipart(uri("/v1/search"), Map.of("crop", bad), "p.jpg", "image/jpeg", photo));
      assertError(response, ErrorCode.BAD_CROP);
      assertThat(JSON.readTree(response.body()).get("error").asText()).as(bad).contains(bad);
    }
    ObjectNode notNumbers =
        JSON.createObjectNode().put("imageUrl", photos.get(2).path().toUri().toString());
    notNumbers.putArray("crop").add("a").add(0).add(1).add(1);
    assertError(send(http, json(notNumbers)), ErrorCode.BAD_CROP);
    assertError(
        send(http, json(JSON.createObjectNode().put("productId", "p1").put("crop", "0,0,0.5,0.5"))),
        ErrorCode.BAD_CROP);
    assertError(
        send(
            http,
            HttpRequest.newBuilder(uri("/v1/products/p1/similar?crop=0,0,0.5,0.5")).GET().build()),
        ErrorCode.BAD_CROP);
  }

  @Test
  void shouldLocateAProductSmallOnWhiteAndSearchThatRegion() throws Exception {
    for (int i : new int[] {6, 13, 20}) {
      byte[] small = io.lookalike.image.HardAlterations.pastedOnWhite(photos.get(i).bytes());
      JsonNode plain =
          JSON.readTree(
              send(
                      http,
                      multipart(uri("/v1/search"), Map.of("k", "5"), "s.jpg", "image/jpeg", small))
                  .body());
      JsonNode located =
          JSON.readTree(
              send(
                      http,
                      multipart(
                          uri("/v1/search"),
                          Map.of("k", "5", "localize", "true"),
                          "s.jpg",
                          "image/jpeg",
                          small))
                  .body());

      // the region searched is a part of the photo around its centre, where the product lies
      JsonNode box = located.get("region");
      assertThat(box).as("p%d: %s", i, located).isNotNull();
      double x = box.get("x").asDouble();
      double y = box.get("y").asDouble();
      double w = box.get("w").asDouble();
      double h = box.get("h").asDouble();
      assertThat(w * h).as("p%d area", i).isLessThan(0.8);
      assertThat(x).isLessThan(0.5);
      assertThat(x + w).isGreaterThan(0.5);
      assertThat(y).isLessThan(0.5);
      assertThat(y + h).isGreaterThan(0.5);
      // its own product scores higher than without localisation
      assertThat(located.get("results").get(0).get("productId").asText()).isEqualTo("p" + i);
      assertThat(located.get("results").get(0).get("score").doubleValue())
          .isGreaterThan(plain.get("results").get(0).get("score").doubleValue());
      // and localize is a crop= of the region it reports
      String crop = x + "," + y + "," + w + "," + h;
      JsonNode cropped =
          searchOk(
              multipart(
                  uri("/v1/search"), Map.of("k", "5", "crop", crop), "s.jpg", "image/jpeg", small));
      assertThat(cropped.get(0).get("productId").asText()).isEqualTo("p" + i);
      assertThat(cropped.get(0).get("score").doubleValue())
          .isCloseTo(
              located.get("results").get(0).get("score").doubleValue(),
              org.assertj.core.data.Offset.offset(0.02));
    }
  }

  @Test
  void shouldAnswerPerRegionWithRegionsTrue() throws Exception {
    // two products, each small on white, top left and bottom right
    java.awt.image.BufferedImage two =
        new java.awt.image.BufferedImage(600, 600, java.awt.image.BufferedImage.TYPE_INT_RGB);
    java.awt.Graphics2D g = two.createGraphics();
    try {
      g.setColor(java.awt.Color.WHITE);
      g.fillRect(0, 0, 600, 600);
      g.drawImage(NearDuplicates.decode(photos.get(4).bytes()), 20, 20, 230, 230, null);
      g.drawImage(NearDuplicates.decode(photos.get(9).bytes()), 350, 350, 230, 230, null);
    } finally {
      g.dispose();
    }
    byte[] photo = NearDuplicates.jpeg(two, 0.95f);

    JsonNode body =
        JSON.readTree(
            send(
                    http,
                    multipart(
                        uri("/v1/search"),
                        Map.of("k", "3", "regions", "true"),
                        "two.jpg",
                        "image/jpeg",
                        photo))
                .body());

    JsonNode regions = body.get("regions");
    assertThat(regions).as(body.toString()).isNotNull();
    assertThat(regions.size()).isBetween(2, SearchService.MAX_REGIONS);
    List<String> tops = new ArrayList<>();
    for (JsonNode region : regions) {
      assertThat(region.get("box").get("w").asDouble()).isGreaterThan(0);
      assertThat(region.get("results")).hasSize(3);
      tops.add(region.get("results").get(0).get("productId").asText());
    }
    assertThat(tops).as(body.toString()).contains("p4", "p9");
    assertThat(body.get("results")).hasSize(3); // the whole photo's answer is still there
  }

  @Test
  void shouldSayWhetherTheBestResultIsACloseMatchWithMinScoreAuto() throws Exception {
    // an indexed photo, slightly altered: a close match
    JsonNode same =
        JSON.readTree(
            send(
                    http,
                    multipart(
                        uri("/v1/search"),
                        Map.of("minScore", "auto"),
                        "a.jpg",
                        "image/jpeg",
                        NearDuplicates.of(photos.get(11).bytes())))
                .body());
    double threshold = same.get("minScore").asDouble();
    assertThat(threshold).isBetween(0.0, 1.0);
    assertThat(same.get("closeMatch").asBoolean()).isTrue();
    assertThat(same.get("results").get(0).get("productId").asText()).isEqualTo("p11");
    same.get("results")
        .forEach(r -> assertThat(r.get("score").asDouble()).isGreaterThanOrEqualTo(threshold));

    // photos the index does not hold: no close match, and no result below the threshold
    int noClose = 0;
    List<SampleImages.Photo> unseen = SampleImages.photos("validation", 10);
    for (SampleImages.Photo p : unseen) {
      JsonNode other =
          JSON.readTree(
              send(
                      http,
                      multipart(
                          uri("/v1/search"),
                          Map.of("minScore", "auto"),
                          "b.jpg",
                          "image/jpeg",
                          p.bytes()))
                  .body());
      assertThat(other.get("minScore").asDouble()).isEqualTo(threshold);
      noClose += other.get("closeMatch").asBoolean() ? 0 : 1;
      assertThat(other.get("results").size() == 0).isEqualTo(!other.get("closeMatch").asBoolean());
    }
    assertThat(noClose).isGreaterThanOrEqualTo(unseen.size() / 2);

    // a number is a plain cut, and what is out of range is refused
    JsonNode cut =
        JSON.readTree(
            send(http, json(JSON.createObjectNode().put("productId", "p3").put("minScore", "0.99")))
                .body());
    assertThat(cut.get("minScore").asDouble()).isEqualTo(0.99);
    assertThat(cut.has("closeMatch")).isFalse();
    cut.get("results")
        .forEach(r -> assertThat(r.get("score").asDouble()).isGreaterThanOrEqualTo(0.99));
    assertError(
        send(http, HttpRequest.newBuilder(uri("/v1/products/p3/similar?minScore=2")).GET().build()),
        ErrorCode.BAD_REQUEST);
    // without minScore, nothing changes in the answer
    assertThat(
            JSON.readTree(send(http, json(JSON.createObjectNode().put("productId", "p3"))).body())
                .has("minScore"))
        .isFalse();
  }

  /** Two photos scaled to 320×320, side by side in one 640×320 JPEG. */
  private static byte[] sideBySide(byte[] left, byte[] right) {
    java.awt.image.BufferedImage pair =
        new java.awt.image.BufferedImage(640, 320, java.awt.image.BufferedImage.TYPE_INT_RGB);
    java.awt.Graphics2D g = pair.createGraphics();
    try {
      g.setRenderingHint(
          java.awt.RenderingHints.KEY_INTERPOLATION,
          java.awt.RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      g.drawImage(NearDuplicates.decode(left), 0, 0, 320, 320, null);
      g.drawImage(NearDuplicates.decode(right), 320, 0, 320, 320, null);
    } finally {
      g.dispose();
    }
    return NearDuplicates.jpeg(pair, 0.95f);
  }

  @Test
  void shouldSearchByProductIdLeavingTheProductOut() throws Exception {
    JsonNode results = searchOk(json(JSON.createObjectNode().put("productId", "p5").put("k", 6)));
    assertThat(results).hasSize(6);
    assertThat(productIds(results)).doesNotContain("p5");

    HttpResponse<String> similar =
        send(http, HttpRequest.newBuilder(uri("/v1/products/p0/similar?k=3")).GET().build());
    assertThat(similar.statusCode()).isEqualTo(200);
    JsonNode similarResults = JSON.readTree(similar.body()).get("results");
    assertThat(similarResults).hasSize(3);
    assertThat(productIds(similarResults)).doesNotContain("p0");
  }

  @Test
  void shouldSearchByVectorNormalisingIt() throws Exception {
    ObjectNode request = JSON.createObjectNode().put("k", 2);
    ArrayNode vector = request.putArray("vector");
    for (float v : indexed.get(8).vector()) {
      vector.add(v * 3.5f); // not unit length: the gateway normalises
    }
    JsonNode results = searchOk(json(request));

    assertThat(results.get(0).get("productId").asText()).isEqualTo("p8");
    assertThat(results.get(0).get("score").floatValue()).isGreaterThan(0.999f);
  }

  @Test
  void shouldReturnEachProductOnceWithItsBestImage() throws Exception {
    JsonNode results =
        searchOk(
            multipart(
                uri("/v1/search"),
                Map.of("k", Integer.toString(PRODUCTS)),
                "p0.jpg",
                "image/jpeg",
                photos.get(0).bytes()));

    List<String> ids = productIds(results);
    assertThat(ids).hasSize(PRODUCTS).doesNotHaveDuplicates();
    assertThat(ids.get(0)).isEqualTo("p0");
    assertThat(results.get(0).get("imageId").asText()).isEqualTo("main");
  }

  @Test
  void shouldApplyFilters() throws Exception {
    byte[] photo = photos.get(0).bytes();
    String category = photos.get(0).category();
    String otherCategory = photos.get(1).category();

    JsonNode byCategory =
        searchOk(
            multipart(
                uri("/v1/search"),
                Map.of("k", "30", "category", category + "," + otherCategory),
                "q.jpg",
                "image/jpeg",
                photo));
    assertThat(byCategory).isNotEmpty();
    byCategory.forEach(r -> assertThat(r.get("category").asText()).isIn(category, otherCategory));

    HttpResponse<String> byPrice =
        send(
            http,
            HttpRequest.newBuilder(uri("/v1/search?k=30&minPrice=20&maxPrice=50"))
                .header("Content-Type", "image/jpeg")
                .POST(BodyPublishers.ofByteArray(photo))
                .build());
    JsonNode priced = JSON.readTree(byPrice.body()).get("results");
    assertThat(priced).hasSize(7); // prices 20, 25, ..., 50
    priced.forEach(r -> assertThat(r.get("price").asDouble()).isBetween(20.0, 50.0));

    ObjectNode request = JSON.createObjectNode().put("productId", "p1").put("k", 30);
    request
        .putObject("filters")
        .put("maxPrice", 100)
        .put("brand", "zebra")
        .putArray("availability")
        .add("IN_STOCK");
    JsonNode filtered = searchOk(json(request));
    assertThat(filtered).isNotEmpty();
    filtered.forEach(
        r -> {
          assertThat(r.get("availability").asText()).isEqualTo("IN_STOCK");
          assertThat(r.get("brand").asText()).isEqualTo("zebra");
          assertThat(r.get("price").asDouble()).isLessThanOrEqualTo(100.0);
        });
  }

  @Test
  void shouldRefuseCorruptJpegWith400() throws Exception {
    assertError(
        send(
            http,
            multipart(
                uri("/v1/search"),
                Map.of(),
                "bad.jpg",
                "image/jpeg",
                HostileImages.corruptJpeg(photos.get(0).bytes()))),
        ErrorCode.CORRUPT_IMAGE);
    assertError(
        send(
            http,
            multipart(
                uri("/v1/search"),
                Map.of(),
                "cut.jpg",
                "image/jpeg",
                HostileImages.truncated(photos.get(0).bytes(), 1.0 / 3))),
        ErrorCode.CORRUPT_IMAGE);
    assertError(
        send(
            http,
            multipart(
                uri("/v1/search"), Map.of(), "empty.jpg", "image/jpeg", HostileImages.zeroBytes())),
        ErrorCode.EMPTY);
  }

  @Test
  void shouldRefuseTextFileWith415() {
    assertError(
        send(
            http,
            multipart(
                uri("/v1/search"), Map.of(), "photo.jpg", "image/jpeg", HostileImages.textFile())),
        ErrorCode.UNSUPPORTED_TYPE);
    assertError(
        send(
            http,
            HttpRequest.newBuilder(uri("/v1/search"))
                .header("Content-Type", "text/plain")
                .POST(BodyPublishers.ofByteArray(HostileImages.textFile()))
                .build()),
        ErrorCode.UNSUPPORTED_TYPE);
  }

  @Test
  void shouldRefuseOversizeBodyWith413() {
    byte[] big = new byte[(int) MAX_UPLOAD + 100_000];
    System.arraycopy(photos.get(0).bytes(), 0, big, 0, 3);
    // Declared too large (Content-Length) ...
    assertError(
        send(
            http,
            HttpRequest.newBuilder(uri("/v1/search"))
                .header("Content-Type", "image/jpeg")
                .POST(BodyPublishers.ofByteArray(big))
                .build()),
        ErrorCode.TOO_LARGE);
    assertError(
        send(http, multipart(uri("/v1/search"), Map.of(), "big.jpg", "image/jpeg", big)),
        ErrorCode.TOO_LARGE);
    // ... and found too large while reading (chunked, no Content-Length).
    assertError(
        send(
            http,
            HttpRequest.newBuilder(uri("/v1/search"))
                .header("Content-Type", "image/jpeg")
                .POST(BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big)))
                .build()),
        ErrorCode.TOO_LARGE);
    HttpRequest upload = multipart(uri("/v1/search"), Map.of(), "big.jpg", "image/jpeg", big);
    assertError(
        send(
            http,
            HttpRequest.newBuilder(upload.uri())
                .headers("Content-Type", upload.headers().firstValue("Content-Type").orElseThrow())
                .POST(
                    BodyPublishers.ofInputStream(
                        () -> new ByteArrayInputStream(multipartBytes(upload))))
                .build()),
        ErrorCode.TOO_LARGE);
  }

  @Test
  void shouldAnswerUnknownProductWith404() {
    assertError(
        send(http, HttpRequest.newBuilder(uri("/v1/products/nope/similar")).GET().build()),
        ErrorCode.NOT_FOUND);
    assertError(
        send(http, json(JSON.createObjectNode().put("productId", "nope"))), ErrorCode.NOT_FOUND);
  }

  @Test
  void shouldRefuseBadRequests() {
    ObjectNode wrongDimension = JSON.createObjectNode();
    wrongDimension.putArray("vector").add(1).add(2).add(3);
    assertError(send(http, json(wrongDimension)), ErrorCode.BAD_VECTOR);
    assertError(
        send(http, json(JSON.createObjectNode().put("productId", "p1").put("k", 1000))),
        ErrorCode.BAD_REQUEST);
    assertError(
        send(http, json(JSON.createObjectNode().put("productId", "p1").put("imageUrl", "x"))),
        ErrorCode.BAD_REQUEST);
    assertError(
        send(
            http,
            HttpRequest.newBuilder(uri("/v1/search"))
                .header("Content-Type", "application/json")
                .POST(BodyPublishers.ofString("{not json"))
                .build()),
        ErrorCode.BAD_REQUEST);
    assertError(
        send(http, HttpRequest.newBuilder(uri("/v1/nothing")).GET().build()), ErrorCode.NOT_FOUND);
    String missing = tmp.resolve("missing.jpg").toUri().toString();
    assertError(
        send(http, json(JSON.createObjectNode().put("imageUrl", missing))),
        ErrorCode.URL_NOT_FOUND);
  }

  @Test
  void shouldRefuseSearchWhenActiveIndexHoldsAnotherModel() {
    active.set(new ActiveModel(embedder, otherModelStore));
    try {
      assertError(
          send(http, json(JSON.createObjectNode().put("productId", "p1"))),
          ErrorCode.MODEL_MISMATCH);
      HttpResponse<String> health =
          send(http, HttpRequest.newBuilder(uri("/health")).GET().build());
      assertThat(health.statusCode()).isEqualTo(503);
    } finally {
      active.set(new ActiveModel(embedder, store));
    }
  }

  @Test
  void shouldListTheActiveModelAndThoseOfTheDirectory() throws Exception {
    HttpResponse<String> plain =
        send(http, HttpRequest.newBuilder(uri("/v1/models")).GET().build());
    assertThat(plain.statusCode()).isEqualTo(200);
    JsonNode body = JSON.readTree(plain.body());
    String modelId = embedder.model().modelId();
    assertThat(body.get("active").asText()).isEqualTo(modelId);
    assertThat(body.at("/models/0/modelId").asText()).isEqualTo(modelId);
    assertThat(body.at("/models/0/state").asText()).isEqualTo("active");
    assertThat(body.at("/models/0/vectors").asLong()).isEqualTo(PRODUCTS + 5);

    server.modelDirectory(
        () ->
            List.of(
                new ModelStatus(
                    modelId,
                    "mobilenet",
                    "file:/m.pt",
                    1280,
                    35,
                    0,
                    ModelStatus.ACTIVE,
                    "2026-01-01T00:00:00Z"),
                new ModelStatus(
                    "next_0000aaaa",
                    "next",
                    "file:/n.pt",
                    96,
                    10,
                    25,
                    ModelStatus.CATCHING_UP,
                    null)));
    try {
      JsonNode listed =
          JSON.readTree(send(http, HttpRequest.newBuilder(uri("/v1/models")).GET().build()).body());
      assertThat(listed.get("models")).hasSize(2);
      assertThat(listed.at("/models/1/modelId").asText()).isEqualTo("next_0000aaaa");
      assertThat(listed.at("/models/1/lag").asLong()).isEqualTo(25);
      assertThat(listed.at("/models/1/state").asText()).isEqualTo("catching_up");
      assertThat(listed.at("/models/0/createdAt").asText()).isEqualTo("2026-01-01T00:00:00Z");
    } finally {
      server.modelDirectory(null);
    }
  }

  @Test
  void shouldServeRoutesAddedByAnotherComponentWithTheSameErrorShape() throws Exception {
    HttpResponse<String> ping =
        send(http, HttpRequest.newBuilder(uri("/v1/extra/ping")).GET().build());
    assertThat(ping.body()).isEqualTo("pong");
    assertError(
        send(
            http,
            HttpRequest.newBuilder(uri("/v1/extra/refuse")).POST(BodyPublishers.noBody()).build()),
        ErrorCode.NOT_CAUGHT_UP);
  }

  @Test
  void shouldReportHealth() throws Exception {
    HttpResponse<String> response =
        send(http, HttpRequest.newBuilder(uri("/health")).GET().build());
    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.get("status").asText()).isEqualTo("UP");
    assertThat(body.get("modelId").asText()).isEqualTo(embedder.model().modelId());
    assertThat(body.get("vectors").asLong()).isEqualTo(PRODUCTS + 5);
    assertThat(body.at("/checks/extra/status").asText()).isEqualTo("UP");

    extraCheckUp.set(false);
    try {
      HttpResponse<String> down = send(http, HttpRequest.newBuilder(uri("/health")).GET().build());
      assertThat(down.statusCode()).isEqualTo(503);
      assertThat(JSON.readTree(down.body()).get("status").asText()).isEqualTo("DOWN");
    } finally {
      extraCheckUp.set(true);
    }
  }

  @Test
  void shouldExposePrometheusMetrics() {
    searchOkUnchecked(json(JSON.createObjectNode().put("productId", "p2")));
    HttpResponse<String> response =
        send(http, HttpRequest.newBuilder(uri("/metrics")).GET().build());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    assertThat(response.body())
        .contains("lookalike_gateway_search_seconds_bucket{by=\"product\"")
        .contains("jvm_memory_used_bytes");
  }

  @Test
  void shouldServeWebPageAndCatalogImages() throws Exception {
    HttpResponse<String> page = send(http, HttpRequest.newBuilder(uri("/")).GET().build());
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
    assertThat(page.body())
        .contains("<title>Lookalike")
        .contains("/v1/search")
        .contains("thumbnailUrl");

    HttpResponse<byte[]> image =
        http.send(
            HttpRequest.newBuilder(uri("/v1/images/p1/main")).GET().build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertThat(image.statusCode()).isEqualTo(200);
    assertThat(image.headers().firstValue("Content-Type").orElse("")).isEqualTo("image/jpeg");
    assertThat(image.body()).isEqualTo(Files.readAllBytes(photos.get(1).path()));

    HttpResponse<String> remote =
        send(http, HttpRequest.newBuilder(uri("/v1/images/p29/main")).GET().build());
    assertThat(remote.statusCode()).isEqualTo(302);
    assertThat(remote.headers().firstValue("Location"))
        .hasValue("https://images.example.com/p29.jpg");

    assertError(
        send(http, HttpRequest.newBuilder(uri("/v1/images/p1/nope")).GET().build()),
        ErrorCode.NOT_FOUND);
  }

  @Test
  void shouldNotServeFilesOutsideAllowedDirectory() throws Exception {
    Path outside = Files.write(tmp.resolve("secret.jpg"), photos.get(0).bytes());
    store.write(
        List.of(
            GatewayFixture.image(
                "leak", "main", 0, indexed.get(0).vector(), outside.toUri().toString(), "x", 0)),
        List.of());
    try {
      assertError(
          send(http, HttpRequest.newBuilder(uri("/v1/images/leak/main")).GET().build()),
          ErrorCode.NOT_FOUND);
    } finally {
      store.write(List.of(), List.of(new ImageKey("leak", "main")));
    }
  }

  private static JsonNode searchOk(HttpRequest request) throws Exception {
    HttpResponse<String> response = send(http, request);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body()).get("results");
  }

  private static void searchOkUnchecked(HttpRequest request) {
    assertThat(send(http, request).statusCode()).isEqualTo(200);
  }

  private static void assertError(HttpResponse<String> response, ErrorCode error) {
    String code = error.code();
    assertThat(response.statusCode()).as(response.body()).isEqualTo(error.status());
    assertThat(response.headers().firstValue("Content-Type").orElse(""))
        .startsWith("application/json");
    JsonNode body;
    try {
      body = JSON.readTree(response.body());
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + response.body(), e);
    }
    assertThat(body.get("code").asText()).isEqualTo(code);
    assertThat(body.get("error").asText())
        .isNotBlank()
        .doesNotContain("Exception")
        .doesNotContain("\tat ");
  }

  /** The body of a built request, to send it again chunked. */
  private static byte[] multipartBytes(HttpRequest request) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    request
        .bodyPublisher()
        .orElseThrow()
        .subscribe(
            new java.util.concurrent.Flow.Subscriber<>() {
              @Override
              public void onSubscribe(java.util.concurrent.Flow.Subscription subscription) {
                subscription.request(Long.MAX_VALUE);
              }

              @Override
              public void onNext(java.nio.ByteBuffer item) {
                byte[] bytes = new byte[item.remaining()];
                item.get(bytes);
                out.writeBytes(bytes);
              }

              @Override
              public void onError(Throwable throwable) {}

              @Override
              public void onComplete() {}
            });
    return out.toByteArray();
  }

  @Test
  void shouldRefuseTwoImagePartsInsteadOfSearchingTheFirst() throws Exception {
    String boundary = "lookalike-two-images";
    java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    for (int i : new int[] {1, 2}) {
      body.writeBytes(
          ("--"
                  + boundary
                  + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"p"
                  + i
                  + ".jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
              .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      body.writeBytes(photos.get(i).bytes());
      body.writeBytes("\r\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    body.writeBytes(("--" + boundary + "--\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));

    HttpResponse<String> response =
        send(
            http,
            HttpRequest.newBuilder(uri("/v1/search"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(BodyPublishers.ofByteArray(body.toByteArray()))
                .build());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(response.body()).get("error").asText())
        .contains("one file part 'image', got 2");
  }

  @Test
  void shouldRefuseAMinPriceAboveTheMaxPrice() throws Exception {
    HttpResponse<String> query =
        send(
            http,
            HttpRequest.newBuilder(uri("/v1/search?minPrice=50&maxPrice=20"))
                .header("Content-Type", "image/jpeg")
                .POST(BodyPublishers.ofByteArray(photos.get(1).bytes()))
                .build());
    ObjectNode request = JSON.createObjectNode().put("productId", "p1");
    request.putObject("filters").put("minPrice", 50).put("maxPrice", 20);
    HttpResponse<String> json = send(http, json(request));
    HttpResponse<String> similar =
        send(
            http,
            HttpRequest.newBuilder(uri("/v1/products/p1/similar?minPrice=50&maxPrice=20"))
                .GET()
                .build());

    for (HttpResponse<String> response : List.of(query, json, similar)) {
      assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
      assertThat(JSON.readTree(response.body()).get("error").asText())
          .contains("minPrice (50.0) is above maxPrice (20.0)");
    }
    // equal bounds are a fair question
    ObjectNode exact = JSON.createObjectNode().put("productId", "p1");
    exact.putObject("filters").put("minPrice", 20).put("maxPrice", 20);
    assertThat(send(http, json(exact)).statusCode()).isEqualTo(200);
  }

  @Test
  void shouldFailASearchBySlowImageUrlWithinTheFetchBudget() throws Exception {
    // Given an image server on loopback that accepts and never answers, and the fetcher's own retry
    // policy
    // (4 attempts of 15 s plus back-off: over a minute), with a budget of 2 s for the whole
    // download
    java.util.List<java.net.Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (java.net.ServerSocket slow =
        new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      Thread acceptor =
          new Thread(
              () -> {
                while (!slow.isClosed()) {
                  try {
                    held.add(slow.accept());
                  } catch (java.io.IOException e) {
                    return;
                  }
                }
              },
              "slow-image-server");
      acceptor.setDaemon(true);
      acceptor.start();
      GatewayConfig config =
          new GatewayConfig(
              Map.of(
                  GatewayConfig.PORT_CONFIG,
                  "0",
                  GatewayConfig.HOST_CONFIG,
                  "127.0.0.1",
                  GatewayConfig.FETCH_BUDGET_MS_CONFIG,
                  "2000"));
      ImageDownloader downloader =
          ImageDownloader.from(
              new ImageSafetyConfig(
                  Map.of(ImageSafetyConfig.FETCH_ALLOWED_HOSTS_CONFIG, "127.0.0.1")));
      SearchService service =
          new SearchService(
              active::get,
              PhotoValidator.of(new ImageNormaliser(MAX_UPLOAD, 40_000_000L, 640)),
              UrlFetcher.of(downloader),
              config);
      try (GatewayServer budgeted =
          new GatewayServer(
              config, service, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
        int port = budgeted.start();
        ObjectNode request =
            JSON.createObjectNode()
                .put("imageUrl", "http://127.0.0.1:" + slow.getLocalPort() + "/slow.jpg");

        // When a storefront searches by that URL (its client gives up after 30 s, half the retry
        // policy)
        HttpResponse<String> response =
            http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/search"))
                    .header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(30))
                    .POST(BodyPublishers.ofString(request.toString()))
                    .build(),
                HttpResponse.BodyHandlers.ofString());

        // Then it fails with fetch_timeout, before the client gave up
        assertThat(response.statusCode()).as(response.body()).isEqualTo(400);
        assertThat(JSON.readTree(response.body()).get("code").asText()).isEqualTo("fetch_timeout");
      }
    } finally {
      for (java.net.Socket socket : held) {
        socket.close();
      }
    }
  }

  private static List<String> productIds(JsonNode results) {
    List<String> ids = new ArrayList<>();
    results.forEach(r -> ids.add(r.get("productId").asText()));
    assertThat(new HashSet<>(ids)).hasSameSizeAs(ids);
    return ids;
  }

  private static HttpRequest json(JsonNode body) {
    return HttpRequest.newBuilder(uri("/v1/search"))
        .header("Content-Type", "application/json")
        .POST(BodyPublishers.ofString(body.toString()))
        .build();
  }

  private static URI uri(String path) {
    return URI.create(base + path);
  }
}
