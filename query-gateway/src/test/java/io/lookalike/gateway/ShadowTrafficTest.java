package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.model.ModelInfo;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.StoredImage;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shadow traffic on real (small) Lucene indexes of two models, with stand-in embedders that map a
 * photo's first byte to an axis: what is mirrored, how agreement is measured, that a full queue
 * drops shadow searches and never touches the live ones.
 */
class ShadowTrafficTest {

  private static final int DIM = 4;
  private static final String LIVE = "live_model_00000000";
  private static final String CANDIDATE = "next_model_11111111";

  @TempDir Path tmp;

  private LuceneVectorStore liveStore;
  private LuceneVectorStore candidateStore;
  private AxisEmbedder liveEmbedder;
  private AxisEmbedder candidateEmbedder;
  private ActiveModel live;
  private ActiveModel candidate;
  private final List<ActiveModel> shadowed = new CopyOnWriteArrayList<>();
  private final Set<String> known = ConcurrentHashMap.newKeySet();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private SearchService service;
  private SearchService plain;

  @BeforeEach
  void setUp() {
    liveEmbedder = new AxisEmbedder(LIVE);
    candidateEmbedder = new AxisEmbedder(CANDIDATE);
    liveStore = LuceneVectorStore.open(tmp.resolve(LIVE), LIVE, DIM);
    candidateStore = LuceneVectorStore.open(tmp.resolve(CANDIDATE), CANDIDATE, DIM);
    // Axis 0: p0 nearest in the live index, p4 nearest in the candidate's (the order reversed).
    // Axis 1: q0..q4 in the same order in both. "only-live" is not in the candidate's index yet.
    List<StoredImage> liveImages = new ArrayList<>();
    List<StoredImage> candidateImages = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      liveImages.add(image("p" + i, unit(1, 0.1f * i, 0, 0)));
      candidateImages.add(image("p" + i, unit(1, 0.1f * (4 - i), 0, 0)));
      liveImages.add(image("q" + i, unit(0.01f * i, 1, 0, 0)));
      candidateImages.add(image("q" + i, unit(0.01f * i, 1, 0, 0)));
    }
    liveImages.add(image("only-live", unit(0, 0, 1, 0)));
    liveStore.write(liveImages, List.of());
    candidateStore.write(candidateImages, List.of());
    live = new ActiveModel(liveEmbedder, liveStore);
    candidate = new ActiveModel(candidateEmbedder, candidateStore);
    shadowed.add(candidate);
    known.addAll(List.of(LIVE, CANDIDATE));
    service = service(Map.of(GatewayConfig.SHADOW_SHARE_CONFIG, "1"));
    service.bindMetrics(registry);
    plain = service(Map.of(GatewayConfig.SHADOW_SHARE_CONFIG, "0"));
  }

  @AfterEach
  void tearDown() {
    candidateEmbedder.release();
    service.close();
    plain.close();
    liveStore.close();
    candidateStore.close();
  }

  @Test
  void shouldMirrorPhotoSearchesToTheCandidateAndMeasureAgreement() {
    SearchResponse axis0 = service.byPhoto(new byte[] {0}, 3, SearchFilter.NONE);
    SearchResponse axis1 = service.byPhoto(new byte[] {1}, 3, SearchFilter.NONE);

    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> summary() != null && summary().queries() == 2);
    ShadowTraffic.Summary summary = summary();
    // Axis 0: first products differ (p0 / p4), one of three shared (p2); axis 1: the same answer.
    assertThat(summary.against()).isEqualTo(LIVE);
    assertThat(summary.top1Agreement()).isCloseTo(0.5, within(1e-9));
    assertThat(summary.top10Overlap()).isCloseTo((1.0 / 3 + 1.0) / 2, within(1e-9));
    // The candidate embedded the photos itself, on the shadow pool, never on the request's thread
    assertThat(candidateEmbedder.threads)
        .hasSize(2)
        .allMatch(t -> t.startsWith("lookalike-shadow-"));
    SearchService direct = new SearchService(() -> candidate, photo -> photo, url -> null, 3, 20);
    double expectedShift =
        (top1Score(direct.byPhoto(new byte[] {0}, 3, SearchFilter.NONE))
                - top1Score(axis0)
                + top1Score(direct.byPhoto(new byte[] {1}, 3, SearchFilter.NONE))
                - top1Score(axis1))
            / 2;
    assertThat(summary.scoreShift()).isCloseTo(expectedShift, within(1e-6));
    assertThat(summary.dropped()).isZero();
    assertThat(registry.get(ShadowTraffic.OVERLAP_METRIC).tag("model", CANDIDATE).gauge().value())
        .isCloseTo(2.0 / 3, within(1e-9));
    assertThat(
            registry
                .get(ShadowTraffic.SEARCHES_METRIC)
                .tags("model", CANDIDATE, "outcome", "compared")
                .counter()
                .count())
        .isEqualTo(2);
  }

  @Test
  void shouldAnswerTheLiveSearchExactlyAsWithoutShadowTraffic() {
    for (byte axis = 0; axis < 2; axis++) {
      SearchResponse mirrored = service.byPhoto(new byte[] {axis}, 5, SearchFilter.NONE);
      SearchResponse alone = plain.byPhoto(new byte[] {axis}, 5, SearchFilter.NONE);
      assertThat(mirrored.results()).isEqualTo(alone.results());
      assertThat(mirrored.modelId()).isEqualTo(LIVE);
    }
    SearchResponse similar = service.byProduct("p1", 4, SearchFilter.NONE);
    assertThat(similar.results()).isEqualTo(plain.byProduct("p1", 4, SearchFilter.NONE).results());
  }

  @Test
  void shouldDropShadowSearchesWhenTheQueueIsFullWithoutHoldingTheLiveOnes() {
    candidateEmbedder.block();
    try (SearchService narrow =
        service(
            Map.of(
                GatewayConfig.SHADOW_SHARE_CONFIG, "1",
                GatewayConfig.SHADOW_THREADS_CONFIG, "1",
                GatewayConfig.SHADOW_QUEUE_MAX_CONFIG, "1"))) {
      narrow.bindMetrics(registry);
      // The first shadow search holds the only shadow thread, the second waits, the third has no
      // room: each live search is answered meanwhile (this thread would hang otherwise).
      SearchResponse first = narrow.byPhoto(new byte[] {0}, 3, SearchFilter.NONE);
      await().atMost(Duration.ofSeconds(30)).until(() -> candidateEmbedder.entered.getCount() == 0);
      narrow.byPhoto(new byte[] {0}, 3, SearchFilter.NONE);
      narrow.byPhoto(new byte[] {1}, 3, SearchFilter.NONE);
      assertThat(first.results()).extracting(SearchResponse.Match::productId).startsWith("p0");
      assertThat(narrow.shadow().summary(CANDIDATE, LIVE).dropped()).isEqualTo(1);

      candidateEmbedder.release();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> narrow.shadow().summary(CANDIDATE, LIVE).queries() == 2);
      assertThat(
              registry
                  .get(ShadowTraffic.SEARCHES_METRIC)
                  .tags("model", CANDIDATE, "outcome", "dropped")
                  .counter()
                  .count())
          .isEqualTo(1);
    }
  }

  @Test
  void shouldSkipAProductTheCandidateDoesNotHoldYetAndNotMirrorVectors() {
    service.byProduct("only-live", 3, SearchFilter.NONE);
    service.byVector(new float[] {1, 0, 0, 0}, 3, SearchFilter.NONE);

    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> summary() != null && summary().skipped() == 1);
    assertThat(summary().queries()).isZero();
    assertThat(summary().top10Overlap()).isNull();

    service.byProduct("p0", 3, SearchFilter.NONE);
    await().atMost(Duration.ofSeconds(30)).until(() -> summary().queries() == 1);
    assertThat(summary().skipped()).isEqualTo(1); // the vector search was not mirrored
  }

  @Test
  void shouldForgetACandidateThatIsDroppedOrBecomesActive() {
    service.byPhoto(new byte[] {0}, 3, SearchFilter.NONE);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> summary() != null && summary().queries() == 1);
    assertThat(registry.find(ShadowTraffic.TOP1_METRIC).tag("model", CANDIDATE).gauge())
        .isNotNull();

    shadowed.clear();
    known.remove(CANDIDATE);

    assertThat(summary()).isNull();
    assertThat(registry.find(ShadowTraffic.TOP1_METRIC).tag("model", CANDIDATE).gauge()).isNull();
    assertThat(registry.find(ShadowTraffic.SEARCHES_METRIC).tag("model", CANDIDATE).counters())
        .isEmpty();
    // And the numbers against another live model are not mixed with these
    known.add(CANDIDATE);
    shadowed.add(candidate);
    service.byPhoto(new byte[] {1}, 3, SearchFilter.NONE);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> summary() != null && summary().queries() == 1);
    assertThat(service.shadow().summary(CANDIDATE, "another_live_22222222")).isNull();
  }

  private ShadowTraffic.Summary summary() {
    return service.shadow().summary(CANDIDATE, LIVE);
  }

  private SearchService service(Map<String, String> shadowSettings) {
    Map<String, String> props = new java.util.HashMap<>(shadowSettings);
    props.put(GatewayConfig.EMBED_BATCH_MAX_SIZE_CONFIG, "1");
    SearchService s =
        new SearchService(() -> live, photo -> photo, url -> null, new GatewayConfig(props));
    return s.mirrorTo(
        new ShadowCandidates() {
          @Override
          public List<ActiveModel> shadowed() {
            return List.copyOf(shadowed);
          }

          @Override
          public boolean known(String modelId) {
            return known.contains(modelId);
          }
        });
  }

  private static double top1Score(SearchResponse response) {
    return response.results().get(0).score();
  }

  private static StoredImage image(String productId, float[] vector) {
    return GatewayFixture.image(
        productId, "main", 0, vector, "https://example.com/" + productId, "shirt", 1);
  }

  private static float[] unit(float... v) {
    return SearchService.normalised(v, v.length);
  }

  /** Maps a photo's first byte to an axis; can be held inside embed() to fill the shadow queue. */
  private static final class AxisEmbedder implements Embedder {
    private final String modelId;
    final List<String> threads = new CopyOnWriteArrayList<>();
    final CountDownLatch entered = new CountDownLatch(1);
    private volatile CountDownLatch gate = new CountDownLatch(0);

    AxisEmbedder(String modelId) {
      this.modelId = modelId;
    }

    void block() {
      gate = new CountDownLatch(1);
    }

    void release() {
      gate.countDown();
    }

    @Override
    public ModelInfo model() {
      return new ModelInfo(modelId, "test", DIM);
    }

    @Override
    public List<EmbeddingResult> embed(List<byte[]> images) {
      threads.add(Thread.currentThread().getName());
      entered.countDown();
      try {
        if (!gate.await(60, TimeUnit.SECONDS)) {
          throw new IllegalStateException("never released");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      return images.stream()
          .map(
              b -> {
                float[] v = new float[DIM];
                v[b[0] % DIM] = 1;
                return (EmbeddingResult) new EmbeddingResult.Vector(v);
              })
          .toList();
    }

    @Override
    public void close() {}
  }
}
