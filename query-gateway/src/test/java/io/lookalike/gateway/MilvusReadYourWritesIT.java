package io.lookalike.gateway;

import static io.lookalike.gateway.GatewayFixture.send;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.ImageSafetyConfig;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.schemas.ChangeToken;
import io.lookalike.schemas.ImageKey;
import io.lookalike.store.StoredImage;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusProtocolDouble;
import io.lookalike.store.milvus.MilvusVectorStore;
import io.lookalike.testkit.SampleImages;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.milvus.grpc.ConsistencyLevel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Read-your-writes on the distributed gateway (against {@link MilvusProtocolDouble}): {@code GET
 * /v1/status?token=} reads the product's versions through the Milvus alias at STRONG consistency,
 * and a search with {@code consistentWith=} waits for them, then searches at STRONG too, while
 * other searches keep the configured level (BOUNDED).
 */
class MilvusReadYourWritesIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void shouldFollowATokenThroughTheAliasAndSearchAtStrongConsistency() throws Exception {
    Map<String, Object> settings = new HashMap<>();
    try (MilvusProtocolDouble milvus = new MilvusProtocolDouble();
        DjlEmbedder embedder = DjlEmbedder.loadDefault()) {
      settings.put(MilvusConfig.URI_CONFIG, milvus.uri());
      settings.put(MilvusConfig.COLLECTION_PREFIX_CONFIG, "ryw_");
      settings.put(MilvusConfig.ALIAS_CONFIG, "ryw");
      settings.put(GatewayConfig.ALIAS_REFRESH_MS_CONFIG, "100");
      Map<String, String> strings = new HashMap<>();
      settings.forEach((k, v) -> strings.put(k, v.toString()));
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      try (MilvusVectorStore sink =
          MilvusVectorStore.open(
              new MilvusConfig(strings),
              embedder.model().modelId(),
              embedder.model().dimension())) {
        // The sink's writes: products p0..p2 at version 1, then the alias
        List<StoredImage> written =
            GatewayFixture.index(embedder, sink, SampleImages.photos("test", 3), 3);
        assertThat(sink.activateIfUnset()).isTrue();
        GatewayConfig config = new GatewayConfig(Map.of(GatewayConfig.PORT_CONFIG, "0"));
        try (AliasFollower follower = new AliasFollower(settings)) {
          Awaitility.await().atMost(Duration.ofMinutes(1)).until(() -> follower.get() != null);
          GatewayServer server =
              new GatewayServer(
                      config,
                      new SearchService(
                          follower,
                          PhotoValidator.of(new ImageNormaliser(10L << 20, 40_000_000L, 640)),
                          UrlFetcher.of(ImageDownloader.from(new ImageSafetyConfig(Map.of()))),
                          config),
                      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))
                  .changeStatus(new StoreChangeStatus(follower));
          String base = "http://127.0.0.1:" + server.start();
          String modelId = embedder.model().modelId();
          try {
            // Given a version the index holds: searchable, read at STRONG
            String written1 = token("p1", 1, false);
            int queries = milvus.consistencyLevels("query").size();
            JsonNode status = status(http, base, written1);
            assertThat(status.get("searchable").asBoolean()).as(status.toString()).isTrue();
            assertThat(status.get("active").asText()).isEqualTo(modelId);
            assertThat(status.at("/changes/0/models/" + modelId + "/indexed").asBoolean()).isTrue();
            assertThat(status.at("/changes/0/fetched").isNull()).isTrue(); // not this gateway's
            assertThat(milvus.consistencyLevels("query").subList(queries, queriesNow(milvus)))
                .isNotEmpty()
                .containsOnly(ConsistencyLevel.Strong);

            // When a search asks to be consistent with it: answered, and searched at STRONG
            int searches = milvus.consistencyLevels("search").size();
            HttpResponse<String> consistent =
                send(http, search(base, "p0", "").header("Consistent-With", written1).build());
            assertThat(consistent.statusCode()).as(consistent.body()).isEqualTo(200);
            assertThat(JSON.readTree(consistent.body()).path("results")).isNotEmpty();
            assertThat(milvus.consistencyLevels("search").subList(searches, searchesNow(milvus)))
                .isNotEmpty()
                .containsOnly(ConsistencyLevel.Strong);
            // while a plain search keeps the configured level
            searches = searchesNow(milvus);
            assertThat(send(http, search(base, "p0", "").build()).statusCode()).isEqualTo(200);
            assertThat(milvus.consistencyLevels("search").subList(searches, searchesNow(milvus)))
                .isNotEmpty()
                .containsOnly(ConsistencyLevel.Bounded);

            // A version not written yet: not searchable, and a consistent search gives up with 504
            String next = token("p1", 2, false);
            assertThat(status(http, base, next).get("searchable").asBoolean()).isFalse();
            HttpResponse<String> late =
                send(
                    http,
                    search(base, "p0", "?consistentWithinMs=300&consistentWith=" + next).build());
            assertThat(late.statusCode()).as(late.body()).isEqualTo(504);
            assertThat(JSON.readTree(late.body()).get("code").asText())
                .isEqualTo("not_yet_searchable");

            // Then the sink writes it, and a delete: both are read back
            StoredImage p1 = written.get(1);
            sink.write(List.of(withVersion(p1, 2)), List.of());
            sink.write(List.of(), List.of(new ImageKey("p2", "main")));
            assertThat(status(http, base, next).get("searchable").asBoolean()).isTrue();
            String deleted = token("p2", 2, true);
            assertThat(status(http, base, deleted).get("searchable").asBoolean()).isTrue();
            HttpResponse<String> found =
                send(http, search(base, "p0", "?consistentWith=" + next + "").build());
            assertThat(found.statusCode()).as(found.body()).isEqualTo(200);
          } finally {
            server.close();
          }
        }
      }
    }
  }

  private static int queriesNow(MilvusProtocolDouble milvus) {
    return milvus.consistencyLevels("query").size();
  }

  private static int searchesNow(MilvusProtocolDouble milvus) {
    return milvus.consistencyLevels("search").size();
  }

  private static String token(String productId, long version, boolean delete) {
    return new ChangeToken(List.of(new ChangeToken.Change(productId, version, delete))).encode();
  }

  private static JsonNode status(HttpClient http, String base, String token) throws Exception {
    HttpResponse<String> response =
        send(http, HttpRequest.newBuilder(URI.create(base + "/v1/status?token=" + token)).build());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  private static HttpRequest.Builder search(String base, String productId, String query) {
    return HttpRequest.newBuilder(URI.create(base + "/v1/search" + query))
        .header("Content-Type", "application/json")
        .POST(
            HttpRequest.BodyPublishers.ofString(
                "{\"productId\": \"" + productId + "\", \"k\": 2}"));
  }

  private static StoredImage withVersion(StoredImage image, long version) {
    return new StoredImage(
        image.key(),
        image.vector(),
        version,
        image.sha256(),
        image.position(),
        image.sourceUrl(),
        image.occurredAtMillis(),
        image.embeddedAtMillis(),
        image.title(),
        image.brand(),
        image.category(),
        image.price(),
        image.currency(),
        image.availability(),
        image.attributes());
  }
}
