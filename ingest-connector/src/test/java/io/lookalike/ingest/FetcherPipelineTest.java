package io.lookalike.ingest;

import static io.lookalike.ingest.FetcherTopologyTest.metadata;
import static io.lookalike.ingest.FetcherTopologyTest.upsert;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.NormalisedImage;
import io.lookalike.image.RejectedImageException;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fetcher with many events in flight: order per product kept, a slow image holds back only its
 * product.
 */
class FetcherPipelineTest {

  private static final Topics TOPICS = Topics.defaults();

  @TempDir Path dir;

  /** URLs whose fetch waits until the test opens their gate; others return at once. */
  private final Map<String, CountDownLatch> gates = new ConcurrentHashMap<>();

  private final CountDownLatch together = new CountDownLatch(2);
  private final ExecutorService pool = Executors.newFixedThreadPool(4);
  private TopologyTestDriver driver;
  private TestInputTopic<String, ProductEvent> events;
  private TestOutputTopic<String, ProductImage> images;

  @BeforeEach
  void setUp() {
    ImageFetcher fetcher =
        url -> {
          if (url.contains("/together/")) { // returns only once both such fetches have started
            together.countDown();
            try {
              if (!together.await(5, TimeUnit.SECONDS)) {
                throw new RejectedImageException(
                    RejectedImageException.FETCH_TIMEOUT, "fetched alone");
              }
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          CountDownLatch gate = gates.get(url);
          try {
            if (gate != null && !gate.await(10, TimeUnit.SECONDS)) {
              throw new RejectedImageException(
                  RejectedImageException.FETCH_TIMEOUT, "gate never opened");
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          byte[] bytes = url.getBytes(StandardCharsets.UTF_8);
          return new NormalisedImage(bytes, "image/jpeg", 1, 1, ImageNormaliser.sha256(bytes));
        };
    var topology =
        FetcherApp.buildTopology(
            new StreamsBuilder(),
            TOPICS,
            fetcher,
            new SimpleMeterRegistry(),
            new FetcherApp.Pipeline(pool, 10));
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "fetcher-pipeline-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
    driver = new TopologyTestDriver(topology, props);
    events =
        driver.createInputTopic(
            TOPICS.productEvents(), new StringSerializer(), Serdes.productEvent().serializer());
    images =
        driver.createOutputTopic(
            TOPICS.productImages(), new StringDeserializer(), Serdes.productImage().deserializer());
  }

  @AfterEach
  void tearDown() {
    gates.values().forEach(CountDownLatch::countDown);
    driver.close();
    pool.shutdownNow();
  }

  @Test
  void shouldPublishOtherProductsWhileOneImageIsSlowAndKeepOrderPerProduct() {
    gates.put("http://img/p1-v1.jpg", new CountDownLatch(1));
    events.pipeInput(
        "p1", upsert("p1", 1, metadata("v1"), new ImageRef("front", "http://img/p1-v1.jpg", 0)));
    events.pipeInput(
        "p2", upsert("p2", 1, metadata("x"), new ImageRef("front", "http://img/p2.jpg", 0)));
    events.pipeInput(
        "p1", upsert("p1", 2, metadata("v2"), new ImageRef("front", "http://img/p1-v2.jpg", 0)));

    // p2 goes out while p1's first image is still downloading; p1's second version waits for its
    // first
    List<TestRecord<String, ProductImage>> out = drainUntil(1);
    assertThat(out).extracting(TestRecord::key).containsExactly("p2/front");
    assertThat(driver.getKeyValueStore(FetcherApp.PENDING_STORE_NAME).approximateNumEntries())
        .isEqualTo(2);

    gates.get("http://img/p1-v1.jpg").countDown();
    out = drainUntil(2);
    assertThat(out).extracting(r -> r.value().getVersion()).containsExactly(1L, 2L);
    assertThat(out).extracting(TestRecord::key).containsOnly("p1/front");
    assertThat(driver.getKeyValueStore(FetcherApp.PENDING_STORE_NAME).approximateNumEntries())
        .isZero();
  }

  @Test
  void shouldFetchImagesOfOneEventInParallel() {
    ImageRef[] refs = {
      new ImageRef("a", "http://img/together/a.jpg", 0),
      new ImageRef("b", "http://img/together/b.jpg", 1)
    };
    events.pipeInput("p1", upsert("p1", 1, metadata("x"), refs));
    assertThat(drainUntil(2)).extracting(TestRecord::key).containsExactly("p1/a", "p1/b");
  }

  private List<TestRecord<String, ProductImage>> drainUntil(int count) {
    List<TestRecord<String, ProductImage>> out = new ArrayList<>();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> {
              driver.advanceWallClockTime(FetcherProcessor.DRAIN_INTERVAL);
              out.addAll(images.readRecordsToList());
              return out.size() >= count;
            });
    return out;
  }
}
