package io.lookalike.gateway;

import static io.lookalike.gateway.GatewayFixture.multipart;
import static io.lookalike.gateway.GatewayFixture.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.ImageSafetyConfig;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusProtocolDouble;
import io.lookalike.store.milvus.MilvusStoreException;
import io.lookalike.store.milvus.MilvusVectorStore;
import io.lookalike.testkit.SampleImages;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetAddress;
import java.net.ServerSocket;
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
 * The distributed gateway on a fresh cluster (against {@link MilvusProtocolDouble}): it starts
 * before the Milvus alias exists, answers 503 {@code no_index} with {@code /health} DOWN, and
 * searches once the sink's first write has created the collection and the alias.
 */
class AliasFollowerIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void startsWithoutTheAliasAndFollowsItOnceItExists() throws Exception {
    Map<String, Object> settings = new HashMap<>();
    try (MilvusProtocolDouble milvus = new MilvusProtocolDouble();
        DjlEmbedder embedder = DjlEmbedder.loadDefault()) {
      settings.put(MilvusConfig.URI_CONFIG, milvus.uri());
      settings.put(MilvusConfig.COLLECTION_PREFIX_CONFIG, "fresh_");
      settings.put(MilvusConfig.ALIAS_CONFIG, "fresh");
      settings.put(GatewayConfig.ALIAS_REFRESH_MS_CONFIG, "100");
      GatewayConfig config = new GatewayConfig(Map.of(GatewayConfig.PORT_CONFIG, "0"));
      SampleImages.Photo photo = SampleImages.photos("test", 1).get(0);
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      try (AliasFollower follower = new AliasFollower(settings)) {
        assertThat(follower.get()).isNull();
        GatewayServer server =
            new GatewayServer(
                    config,
                    new SearchService(
                        follower,
                        PhotoValidator.of(new ImageNormaliser(10L << 20, 40_000_000L, 640)),
                        UrlFetcher.of(ImageDownloader.from(new ImageSafetyConfig(Map.of()))),
                        config),
                    new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))
                .addHealthCheck("alias", follower::health);
        String base = "http://127.0.0.1:" + server.start();
        try {
          HttpRequest search =
              multipart(
                  URI.create(base + "/v1/search"),
                  Map.of(),
                  "photo.jpg",
                  "image/jpeg",
                  photo.bytes());
          HttpResponse<String> waiting = send(http, search);
          assertThat(waiting.statusCode()).as(waiting.body()).isEqualTo(503);
          assertThat(JSON.readTree(waiting.body()).path("code").asText()).isEqualTo("no_index");
          HttpResponse<String> down = health(http, base);
          assertThat(down.statusCode()).isEqualTo(503);
          assertThat(JSON.readTree(down.body()).at("/checks/alias/status").asText())
              .isEqualTo("DOWN");

          // The sink's first write: the collection of the default model, then the alias.
          Map<String, String> strings = new HashMap<>();
          settings.forEach((k, v) -> strings.put(k, v.toString()));
          try (MilvusVectorStore sink =
              MilvusVectorStore.open(
                  new MilvusConfig(strings),
                  embedder.model().modelId(),
                  embedder.model().dimension())) {
            GatewayFixture.index(embedder, sink, List.of(photo), 1);
            assertThat(sink.activateIfUnset()).isTrue();
          }

          Awaitility.await()
              .atMost(Duration.ofMinutes(1))
              .until(() -> send(http, search).statusCode() == 200);
          JsonNode hits = JSON.readTree(send(http, search).body()).path("results");
          assertThat(hits).isNotEmpty();
          HttpResponse<String> up = health(http, base);
          assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
          assertThat(JSON.readTree(up.body()).at("/checks/alias/status").asText()).isEqualTo("UP");
        } finally {
          server.close();
        }
      }
    }
  }

  @Test
  void stillFailsAtStartUpWhenMilvusCannotBeReached() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    Map<String, Object> settings =
        Map.of(
            MilvusConfig.URI_CONFIG,
            "http://127.0.0.1:" + closedPort,
            MilvusConfig.CONNECT_TIMEOUT_MS_CONFIG,
            "2000");
    assertThatThrownBy(() -> new AliasFollower(settings).close())
        .isInstanceOf(MilvusStoreException.class)
        .hasMessageContaining("Cannot connect to Milvus");
  }

  private static HttpResponse<String> health(HttpClient http, String base) {
    return send(http, HttpRequest.newBuilder(URI.create(base + "/health")).GET().build());
  }
}
