package io.lookalike.gateway;

import static io.lookalike.gateway.GatewayFixture.multipart;
import static io.lookalike.gateway.GatewayFixture.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.ImageSafetyConfig;
import io.lookalike.image.NormalisedImage;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.store.StoredImage;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusProtocolDouble;
import io.lookalike.store.milvus.MilvusVectorStore;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a storefront needs of the search API beyond similarity, over real HTTP on the real model:
 * filters that fail loudly, facet counts, business boosts, and text fused with the photo; the text
 * searches also on Milvus ({@code --store milvus}, against {@link MilvusProtocolDouble}, not
 * Milvus).
 */
class StorefrontIT {

  private static final int PRODUCTS = 24;
  private static final String[] BRANDS = {"Contoso", "Fabrikam", "Northwind"};
  private static final String[] AVAILABILITY = {"IN_STOCK", "OUT_OF_STOCK", "PREORDER"};
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path tmp;

  private static DjlEmbedder embedder;
  private static LuceneVectorStore store;
  private static GatewayServer server;
  private static List<SampleImages.Photo> photos;
  private static HttpClient http;
  private static String base;

  /** The same catalog in Milvus (the protocol double), behind a gateway that follows the alias. */
  private static MilvusProtocolDouble milvus;

  private static AliasFollower milvusModels;
  private static GatewayServer milvusServer;
  private static String milvusBase;
  private static KafkaBroker kafka;
  private static Thumbnails thumbnails;
  private static ThumbnailFeeder feeder;
  private static KafkaProducer<String, byte[]> producer;

  @BeforeAll
  static void startGateway() {
    embedder = DjlEmbedder.loadDefault();
    String modelId = embedder.model().modelId();
    store = LuceneVectorStore.open(tmp.resolve(modelId), modelId, embedder.model().dimension());
    photos = SampleImages.photos("test", PRODUCTS);
    List<StoredImage> images = new ArrayList<>();
    List<byte[]> bytes = photos.stream().map(SampleImages.Photo::bytes).toList();
    for (int from = 0; from < PRODUCTS; from += 12) {
      var vectors = embedder.embed(bytes.subList(from, Math.min(PRODUCTS, from + 12)));
      for (int j = 0; j < vectors.size(); j++) {
        images.add(product(from + j, GatewayFixture.vector(vectors.get(j))));
      }
    }
    store.write(images, List.of());

    // The photos reach the thumbnail store the way the pipeline delivers them: normalised, through
    // catalog.product-images; their file: URLs are outside any directory the gateway may serve.
    kafka = KafkaBroker.start();
    kafka.createCompactedTopics(2, Topics.DEFAULT_PRODUCT_IMAGES);
    thumbnails = new Thumbnails(tmp.resolve("thumbnails"));
    feeder =
        new ThumbnailFeeder(
                Map.of("bootstrap.servers", kafka.bootstrapServers()),
                Topics.DEFAULT_PRODUCT_IMAGES,
                thumbnails)
            .start();
    producer =
        new KafkaProducer<>(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
            new StringSerializer(),
            new ByteArraySerializer());
    ImageNormaliser normaliser = new ImageNormaliser(10L << 20, 40_000_000L, 640);
    for (int i = 0; i < PRODUCTS; i++) {
      try {
        NormalisedImage n = normaliser.normalise(photos.get(i).bytes());
        ProductImage value =
            ProductImage.newBuilder()
                .setProductId("s" + i)
                .setImageId("main")
                .setVersion(1)
                .setOccurredAt(Instant.ofEpochMilli(1_000))
                .setSourceUrl(photos.get(i).path().toUri().toString())
                .setSha256(n.sha256())
                .setMediaType(n.mediaType())
                .setSizeBytes(n.bytes().length)
                .setWidth(n.width())
                .setHeight(n.height())
                .setBytes(ByteBuffer.wrap(n.bytes()))
                .setProduct(ProductMetadata.newBuilder().setTitle("s" + i).build())
                .build();
        producer.send(
            new ProducerRecord<>(
                Topics.DEFAULT_PRODUCT_IMAGES,
                "s" + i + "/main",
                Serdes.productImage()
                    .serializer()
                    .serialize(Topics.DEFAULT_PRODUCT_IMAGES, value)));
      } catch (io.lookalike.image.RejectedImageException e) {
        throw new IllegalStateException(e);
      }
    }
    producer.flush();
    Awaitility.await().atMost(Duration.ofMinutes(1)).until(() -> thumbnails.size() == PRODUCTS);

    GatewayConfig config =
        new GatewayConfig(
            Map.of(
                GatewayConfig.PORT_CONFIG,
                "0",
                GatewayConfig.BOOST_AVAILABILITY_CONFIG,
                "IN_STOCK:0.02"));
    ImageDownloader downloader =
        ImageDownloader.from(
            new ImageSafetyConfig(Map.of(ImageSafetyConfig.FETCH_RETRIES_CONFIG, "0")));
    AtomicReference<ActiveModel> active = new AtomicReference<>(new ActiveModel(embedder, store));
    SearchService service =
        new SearchService(
            active::get,
            PhotoValidator.of(new ImageNormaliser(10L << 20, 40_000_000L, 640)),
            UrlFetcher.of(downloader),
            config);
    server =
        new GatewayServer(config, service, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))
            .thumbnails(thumbnails);
    base = "http://127.0.0.1:" + server.start();
    http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    // --store milvus: the collection behind milvus.alias, its model loaded by the alias follower.
    try {
      milvus = new MilvusProtocolDouble();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    Map<String, Object> milvusSettings =
        Map.of(
            MilvusConfig.URI_CONFIG,
            milvus.uri(),
            MilvusConfig.COLLECTION_PREFIX_CONFIG,
            "storefront_",
            MilvusConfig.ALIAS_CONFIG,
            "storefront");
    Map<String, String> strings = new java.util.HashMap<>();
    milvusSettings.forEach((k, v) -> strings.put(k, v.toString()));
    try (MilvusVectorStore writer =
        MilvusVectorStore.open(new MilvusConfig(strings), modelId, embedder.model().dimension())) {
      writer.write(images, List.of());
      writer.activate();
    }
    milvusModels = new AliasFollower(milvusSettings);
    milvusServer =
        new GatewayServer(
                config,
                new SearchService(
                    milvusModels,
                    PhotoValidator.of(new ImageNormaliser(10L << 20, 40_000_000L, 640)),
                    UrlFetcher.of(downloader),
                    config),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))
            .thumbnails(thumbnails);
    milvusBase = "http://127.0.0.1:" + milvusServer.start();
  }

  /**
   * Product {@code s<i>}: brand, availability and popularity vary with i; stored as the catalog
   * spells them.
   */
  private static StoredImage product(int i, float[] vector) {
    String category = photos.get(i).category();
    String brand = BRANDS[i % BRANDS.length];
    return new StoredImage(
        new ImageKey("s" + i, "main"),
        vector,
        1,
        "sha-s" + i,
        0,
        photos.get(i).path().toUri().toString(),
        1_000L,
        2_000L,
        brand + " " + category + " " + i,
        brand,
        category,
        20.0 + 5 * i,
        "EUR",
        AVAILABILITY[i % AVAILABILITY.length],
        Map.of("popularity", Integer.toString(i)));
  }

  @AfterAll
  static void stop() {
    if (feeder != null) {
      feeder.close();
    }
    if (producer != null) {
      producer.close();
    }
    if (kafka != null) {
      kafka.close();
    }
    if (server != null) {
      server.close();
    }
    if (milvusServer != null) {
      milvusServer.close();
    }
    if (milvusModels != null) {
      milvusModels.close();
    }
    if (milvus != null) {
      try {
        milvus.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (store != null) {
      store.close();
    }
    if (embedder != null) {
      embedder.close();
    }
  }

  @Test
  void shouldRefuseUnknownFilterKeyNamingTheAllowedOnes() throws Exception {
    JsonNode error =
        error(send(http, raw("/v1/search?colour=red", photos.get(0).bytes())), 400, "bad_filter");
    assertThat(error.get("error").asText())
        .contains("colour")
        .contains("category")
        .contains("availability");

    ObjectNode body = JSON.createObjectNode().put("productId", "s1");
    body.putObject("filters").put("colour", "red");
    error = error(send(http, json(body)), 400, "bad_filter");
    assertThat(error.get("error").asText()).contains("'colour'").contains("brand");

    error(
        send(
            http,
            multipart(
                uri("/v1/search"),
                Map.of("colour", "red"),
                "q.jpg",
                "image/jpeg",
                photos.get(0).bytes())),
        400,
        "bad_filter");
    error(send(http, get("/v1/products/s1/similar?colour=red")), 400, "bad_filter");
  }

  @Test
  void shouldRefuseBadAvailabilityNamingTheAllowedValues() throws Exception {
    JsonNode error =
        error(send(http, get("/v1/products/s1/similar?availability=BOGUS")), 400, "bad_filter");
    assertThat(error.get("error").asText())
        .contains("BOGUS")
        .contains("IN_STOCK")
        .contains("OUT_OF_STOCK");
    error(send(http, get("/v1/products/s1/similar?minPrice=cheap")), 400, "bad_filter");
    error(send(http, get("/v1/products/s1/similar?minPrice=50&maxPrice=10")), 400, "bad_filter");
  }

  @Test
  void shouldReadAvailabilityInEverySpellingTheFeedAccepts() throws Exception {
    for (String spelling : List.of("IN_STOCK", "in-stock", "in stock", "InStock")) {
      JsonNode results =
          ok(send(
                  http,
                  get(
                      "/v1/products/s1/similar?k=30&availability="
                          + URLEncoder.encode(spelling, StandardCharsets.UTF_8))))
              .get("results");
      assertThat(results).as(spelling).hasSize(PRODUCTS / 3);
      results.forEach(r -> assertThat(r.get("availability").asText()).isEqualTo("IN_STOCK"));
    }
  }

  @Test
  void shouldAnswerTheSameProductsWithoutFacetsWhenAskedNotToCountThem() throws Exception {
    JsonNode with = ok(send(http, get("/v1/products/s0/similar?k=3")));
    JsonNode without = ok(send(http, get("/v1/products/s0/similar?k=3&facets=false")));
    assertThat(without.get("facets")).isEmpty();
    assertThat(ids(without.get("results"))).isEqualTo(ids(with.get("results"))).hasSize(3);
    error(send(http, get("/v1/products/s0/similar?k=3&facets=maybe")), 400, "bad_request");
  }

  @Test
  void shouldCountFacetsOfTheRetrievedProducts() throws Exception {
    JsonNode body = ok(send(http, get("/v1/products/s0/similar?k=3")));
    JsonNode facets = body.get("facets");
    assertThat(
            facets.get("brand").get("Contoso").asLong()
                + facets.get("brand").get("Fabrikam").asLong()
                + facets.get("brand").get("Northwind").asLong())
        .isEqualTo(PRODUCTS - 1);
    assertThat(facets.get("availability").get("IN_STOCK").asLong()).isEqualTo(PRODUCTS / 3 - 1);
    long categories = 0;
    for (JsonNode count : facets.get("category")) {
      categories += count.asLong();
    }
    assertThat(categories).isEqualTo(PRODUCTS - 1);

    JsonNode filtered =
        ok(send(http, get("/v1/products/s0/similar?k=3&brand=Fabrikam"))).get("facets");
    assertThat(filtered.get("brand").size()).isEqualTo(1);
    assertThat(filtered.get("brand").get("Fabrikam").asLong()).isEqualTo(PRODUCTS / 3);
  }

  @Test
  void shouldNeverReturnAServerPathForAnImage() throws Exception {
    JsonNode body = ok(send(http, raw("/v1/search?k=5", photos.get(2).bytes())));
    assertThat(body.toString())
        .doesNotContain("file:")
        .doesNotContain(SampleImages.datasetDir().toString());
    JsonNode first = body.get("results").get(0);
    assertThat(first.get("productId").asText()).isEqualTo("s2");
    assertThat(first.get("imageUrl").asText()).isEqualTo("/v1/images/s2/main");
    assertThat(first.get("thumbnailUrl").asText()).isEqualTo("/v1/images/s2/main/thumbnail");
  }

  @Test
  void shouldApplyTheDefaultBoostAndSayWhichBoostsApplied() throws Exception {
    JsonNode body = ok(send(http, get("/v1/products/s0/similar?k=5")));
    assertThat(body.get("boosts")).hasSize(1);
    assertThat(body.get("boosts").get(0).get("kind").asText()).isEqualTo("availability");
    assertThat(body.get("boosts").get(0).get("source").asText()).isEqualTo("default");
    for (JsonNode r : body.get("results")) {
      assertThat(r.get("boost").floatValue())
          .isCloseTo(
              r.get("availability").asText().equals("IN_STOCK") ? 0.02f : 0f,
              org.assertj.core.data.Offset.offset(1e-6f));
    }

    JsonNode off = ok(send(http, get("/v1/products/s0/similar?k=5&boost.availability=")));
    assertThat(off.get("boosts")).isEmpty();
  }

  @Test
  void shouldPutInStockProductsFirstWithAStrongAvailabilityBoost() throws Exception {
    JsonNode results =
        ok(send(http, get("/v1/products/s0/similar?k=8&boost.availability=IN_STOCK:1")))
            .get("results");
    // Boosted candidates come from the whole pool, not only from the unboosted top 8: all the other
    // in-stock products (s0 is left out of its own results) come first, then the rest.
    int inStock = PRODUCTS / 3 - 1;
    assertThat(results).hasSize(8);
    for (int i = 0; i < inStock; i++) {
      assertThat(results.get(i).get("availability").asText()).isEqualTo("IN_STOCK");
    }
    assertThat(results.get(inStock).get("availability").asText()).isNotEqualTo("IN_STOCK");
  }

  @Test
  void shouldRankByPopularityAttributeAndPriceTarget() throws Exception {
    JsonNode popular =
        ok(send(
                http,
                get(
                    "/v1/products/s0/similar?k=3&boost.attribute=popularity:10"
                        + "&boost.availability=")))
            .get("results");
    assertThat(popular.get(0).get("productId").asText()).isEqualTo("s" + (PRODUCTS - 1));

    ObjectNode body = JSON.createObjectNode().put("productId", "s0").put("k", 1);
    body.putObject("boosts").put("price", "60:10").put("availability", "");
    JsonNode priced = ok(send(http, json(body)));
    assertThat(priced.get("results").get(0).get("price").asDouble()).isEqualTo(60.0);
    assertThat(priced.get("boosts").get(0).get("spec").asText()).isEqualTo("60:10");
    assertThat(priced.get("boosts").get(0).get("source").asText()).isEqualTo("request");
  }

  @Test
  void shouldRefuseMalformedBoosts() throws Exception {
    error(send(http, get("/v1/products/s0/similar?boost.colour=red:1")), 400, "bad_boost");
    error(send(http, get("/v1/products/s0/similar?boost.price=cheap")), 400, "bad_boost");
    error(send(http, get("/v1/products/s0/similar?boost.availability=BOGUS:1")), 400, "bad_boost");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"lucene", "milvus"})
  void shouldSearchByTextAlone(String engine) throws Exception {
    ObjectNode body = JSON.createObjectNode().put("q", "fabrikam").put("k", 30);
    JsonNode response = ok(send(http, json(at(engine), body)));
    assertThat(response.get("by").asText()).isEqualTo("text");
    assertThat(response.get("results")).hasSize(PRODUCTS / 3);
    response.get("results").forEach(r -> assertThat(r.get("brand").asText()).isEqualTo("Fabrikam"));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"lucene", "milvus"})
  void shouldMoveTheAskedBrandUpWhenTextJoinsThePhoto(String engine) throws Exception {
    String at = at(engine);
    byte[] photo = photos.get(0).bytes(); // a Contoso product
    JsonNode visual =
        ok(send(http, raw(at + "/v1/search?k=10&boost.availability=", photo))).get("results");
    JsonNode fused =
        ok(send(http, raw(at + "/v1/search?k=10&boost.availability=&q=Northwind", photo)));
    assertThat(fused.get("by").asText()).isEqualTo("photo+text");
    long before = count(visual, "Northwind");
    long after = count(fused.get("results"), "Northwind");
    assertThat(after).isGreaterThan(before);
    // The photo still counts: its own product stays among the results.
    assertThat(ids(fused.get("results"))).contains("s0");
    // Text weight 0 gives the visual order back.
    JsonNode visualAgain =
        ok(send(
                http,
                raw(at + "/v1/search?k=10&boost.availability=&q=Northwind&textWeight=0", photo)))
            .get("results");
    assertThat(ids(visualAgain)).isEqualTo(ids(visual));
  }

  @Test
  void shouldFindTheSameProductsByTextOnLuceneAndMilvus() throws Exception {
    ObjectNode body = JSON.createObjectNode().put("q", "northwind").put("k", 30);
    JsonNode lucene = ok(send(http, json(base, body))).get("results");
    JsonNode onMilvus = ok(send(http, json(milvusBase, body))).get("results");
    assertThat(new java.util.TreeSet<>(ids(onMilvus)))
        .isEqualTo(new java.util.TreeSet<>(ids(lucene)))
        .hasSize(PRODUCTS / 3);
  }

  @Test
  void shouldCalibrateMinScoreAutoOnMilvusAsOnLucene() throws Exception {
    String productId =
        ok(send(http, json(base, JSON.createObjectNode().put("q", "northwind"))))
            .get("results")
            .get(0)
            .get("productId")
            .asText();
    ObjectNode body = JSON.createObjectNode().put("productId", productId).put("minScore", "auto");
    JsonNode lucene = ok(send(http, json(base, body)));
    JsonNode onMilvus = ok(send(http, json(milvusBase, body)));
    // the catalog is smaller than the sample: both calibrate on every image, so they agree
    assertThat(onMilvus.get("minScore").asDouble())
        .isBetween(0.0, 1.0)
        .isCloseTo(lucene.get("minScore").asDouble(), org.assertj.core.data.Offset.offset(0.01));
    assertThat(onMilvus.has("closeMatch")).isTrue();
  }

  @Test
  void shouldServeCardThumbnailsFromThePipelinesBytesWithCacheHeaders() throws Exception {
    JsonNode first =
        ok(send(http, raw("/v1/search?k=1", photos.get(4).bytes()))).get("results").get(0);
    HttpResponse<byte[]> thumb =
        http.send(get(first.get("thumbnailUrl").asText()), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(thumb.statusCode()).isEqualTo(200);
    assertThat(thumb.headers().firstValue("Content-Type")).hasValue("image/jpeg");
    assertThat(thumb.headers().firstValue("Cache-Control").orElse("")).contains("max-age");
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(thumb.body()));
    assertThat(Math.max(image.getWidth(), image.getHeight()))
        .isEqualTo(Thumbnails.THUMBNAIL_SIDE_PX);
    String etag = thumb.headers().firstValue("ETag").orElseThrow();
    assertThat(etag)
        .startsWith("\"")
        .contains(thumbnails.get(new ImageKey("s4", "main")).orElseThrow().sha256());

    HttpResponse<byte[]> again =
        http.send(
            HttpRequest.newBuilder(uri(first.get("thumbnailUrl").asText()))
                .header("If-None-Match", etag)
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertThat(again.statusCode()).isEqualTo(304);
    assertThat(again.body()).isEmpty();

    HttpResponse<byte[]> original =
        http.send(get(first.get("imageUrl").asText()), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(original.statusCode()).isEqualTo(200);
    BufferedImage full = ImageIO.read(new ByteArrayInputStream(original.body()));
    assertThat(Math.max(full.getWidth(), full.getHeight()))
        .isGreaterThan(Thumbnails.THUMBNAIL_SIDE_PX);
  }

  @Test
  void shouldForgetTheThumbnailOfADeletedImage() throws Exception {
    ImageKey key = new ImageKey("gone", "main");
    StoredImage s1 = store.get(new ImageKey("s1", "main")).orElseThrow();
    store.write(
        List.of(
            new StoredImage(
                key,
                s1.vector(),
                1,
                "sha-gone",
                0,
                s1.sourceUrl(),
                1_000L,
                2_000L,
                "gone",
                "Contoso",
                "dress",
                10.0,
                "EUR",
                "IN_STOCK",
                Map.of())),
        List.of());
    try {
      NormalisedImage n =
          new ImageNormaliser(10L << 20, 40_000_000L, 640).normalise(photos.get(1).bytes());
      thumbnails.put(key, n.sha256(), n.mediaType(), n.bytes());
      assertThat(send(http, get("/v1/images/gone/main/thumbnail")).statusCode()).isEqualTo(200);

      producer.send(new ProducerRecord<>(Topics.DEFAULT_PRODUCT_IMAGES, "gone/main", null)).get();
      Awaitility.await().atMost(Duration.ofMinutes(1)).until(() -> thumbnails.get(key).isEmpty());
      // Its file: URL is outside any directory the gateway may serve: nothing leaks.
      error(send(http, get("/v1/images/gone/main/thumbnail")), 404, "not_found");
    } finally {
      store.write(List.of(), List.of(key));
    }
  }

  /**
   * The web page in Debian's chromium, driven by playwright-core (src/test/browser/page.test.mjs):
   * upload, loaded thumbnails, filters, more like this, Back, a wrong file type, a phone, keyboard
   * only, and no console error. Skipped where chromium or the npm packages are not installed
   * (.ci/run installs them).
   */
  @Test
  void shouldPassThePageTestInChromium() throws Exception {
    Path browserDir = Path.of("src/test/browser").toAbsolutePath();
    Assumptions.assumeTrue(
        Files.isExecutable(Path.of("/usr/bin/chromium")), "no /usr/bin/chromium");
    Assumptions.assumeTrue(
        Files.isDirectory(browserDir.resolve("node_modules/playwright-core")),
        "no node_modules: run npm ci in " + browserDir);
    Path shots = Path.of("target/page-screenshots").toAbsolutePath();
    Path log = Files.createDirectories(Path.of("target")).resolve("page-test.log").toAbsolutePath();
    Process node;
    try {
      node =
          new ProcessBuilder(
                  "node", "page.test.mjs", base, photos.get(0).path().toString(), shots.toString())
              .directory(browserDir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
    } catch (java.io.IOException e) {
      Assumptions.abort("node is not installed: " + e.getMessage());
      return;
    }
    boolean exited = node.waitFor(5, java.util.concurrent.TimeUnit.MINUTES);
    if (!exited) {
      node.destroyForcibly();
    }
    String output = Files.readString(log);
    assertThat(exited).as("page test finished in time:%n%s", output).isTrue();
    assertThat(node.exitValue()).as("page test output:%n%s", output).isZero();
    assertThat(shots.resolve("desktop.png")).exists();
    assertThat(shots.resolve("phone.png")).exists();
  }

  private static long count(JsonNode results, String brand) {
    long n = 0;
    for (JsonNode r : results) {
      n += r.get("brand").asText().equals(brand) ? 1 : 0;
    }
    return n;
  }

  private static List<String> ids(JsonNode results) {
    List<String> ids = new ArrayList<>();
    results.forEach(r -> ids.add(r.get("productId").asText()));
    return ids;
  }

  private static JsonNode ok(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  private static JsonNode error(HttpResponse<String> response, int status, String code)
      throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.get("code").asText()).isEqualTo(code);
    return body;
  }

  private static HttpRequest get(String path) {
    return HttpRequest.newBuilder(uri(path)).GET().build();
  }

  private static HttpRequest raw(String path, byte[] photo) {
    return HttpRequest.newBuilder(uri(path))
        .header("Content-Type", "image/jpeg")
        .POST(BodyPublishers.ofByteArray(photo))
        .build();
  }

  private static HttpRequest json(JsonNode body) {
    return json(base, body);
  }

  private static HttpRequest json(String at, JsonNode body) {
    return HttpRequest.newBuilder(URI.create(at + "/v1/search"))
        .header("Content-Type", "application/json")
        .POST(BodyPublishers.ofString(body.toString()))
        .build();
  }

  private static URI uri(String path) {
    return URI.create(path.startsWith("http") ? path : base + path);
  }

  /** The gateway of one store: the Lucene one, or the Milvus one (as {@code --store milvus}). */
  private static String at(String engine) {
    return engine.equals("milvus") ? milvusBase : base;
  }
}
