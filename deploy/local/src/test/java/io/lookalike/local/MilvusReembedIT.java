package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.embedder.EmbedderApp;
import io.lookalike.gateway.ActiveModel;
import io.lookalike.gateway.AliasFollower;
import io.lookalike.indexer.EmbeddingSink;
import io.lookalike.lifecycle.MilvusReembed;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.TopicAdmin;
import io.lookalike.schemas.Topics;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusProtocolDouble;
import io.lookalike.store.milvus.MilvusVectorStore;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Re-embedding in the distributed mode on real parts: a real broker, two real DJL models, Milvus's
 * protocol (the in-JVM double), the gateway's {@link AliasFollower}, and {@code lookalike reembed
 * --store milvus}.
 */
class MilvusReembedIT {

  private static final int IMAGES = 40;

  @Test
  void reembedSwapsTheAliasAndTheGatewayFollowsWithoutAFailedSearch() throws Exception {
    try (KafkaBroker kafka = KafkaBroker.start();
        MilvusProtocolDouble milvus = new MilvusProtocolDouble()) {
      Map<String, String> settings = new HashMap<>();
      settings.put(MilvusConfig.URI_CONFIG, milvus.uri());
      settings.put(MilvusConfig.TOKEN_CONFIG, "root:Milvus");
      settings.put(MilvusConfig.RETRY_INITIAL_BACKOFF_MS_CONFIG, "10");
      MilvusConfig config = new MilvusConfig(settings);
      Topics topics = Topics.from(Map.of());
      List<byte[]> photos = publishImages(kafka, topics);

      String model1 = indexWithDefaultModel(kafka, config, settings);
      Map<String, Object> gatewayConfig = new HashMap<>(settings);
      gatewayConfig.put(AliasFollower.REFRESH_MS_CONFIG, "200");
      try (AliasFollower gateway = new AliasFollower(gatewayConfig)) {
        assertThat(gateway.get().modelId()).isEqualTo(model1);
        Set<String> answeredBy = ConcurrentHashMap.newKeySet();
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger searches = new AtomicInteger();
        AtomicBoolean running = new AtomicBoolean(true);
        Thread client =
            new Thread(
                () -> {
                  int i = 0;
                  while (running.get()) {
                    ActiveModel pair = gateway.get(); // what a request does: reads the pair once
                    try {
                      EmbeddingResult result =
                          pair.embedder().embed(List.of(photos.get(i++ % photos.size()))).get(0);
                      float[] query = ((EmbeddingResult.Vector) result).values();
                      assertThat(pair.store().search(query, 5, SearchFilter.NONE)).isNotEmpty();
                      answeredBy.add(pair.modelId());
                      searches.incrementAndGet();
                    } catch (Throwable e) {
                      failed.incrementAndGet();
                    }
                  }
                },
                "search-client");
        client.start();

        Run bad = cli(kafka, settings, "--model", testModel("bad_first_conv.pt"), "--gate", "0.9");
        assertThat(bad.exit()).as(bad.err()).isEqualTo(ModelCommands.GATE_FAILED);
        assertThat(bad.err()).contains("Not switching");
        assertThat(milvus.aliasTarget(config.alias()))
            .isEqualTo(config.collectionPrefix() + model1);

        long t0 = System.nanoTime();
        // block13 loses category precision (the shopper checks refuse it by default): accepted
        // knowingly
        Run good =
            cli(
                kafka,
                settings,
                "--model",
                testModel("mobilenet_v2_block13.pt"),
                "--gate",
                "0.8",
                "--max-drop",
                "1",
                "--drop-old",
                "-D" + MilvusReembed.DROP_DELAY_MS_CONFIG + "=1000");
        assertThat(good.exit()).as(good.out() + good.err()).isZero();
        assertThat(good.out()).contains("Switched");
        String model2 =
            milvus.aliasTarget(config.alias()).substring(config.collectionPrefix().length());
        assertThat(model2).startsWith("mobilenet_v2_block13_");
        assertThat(milvus.collection(config.collectionPrefix() + model2).rows).hasSize(IMAGES);
        await().atMost(Duration.ofSeconds(20)).until(() -> gateway.get().modelId().equals(model2));
        System.out.printf(
            "%s%s%s%ngateway followed the alias %d ms after reembed started%n",
            bad.out(), bad.err(), good.out(), (System.nanoTime() - t0) / 1_000_000);
        int before = searches.get();
        await().atMost(Duration.ofSeconds(10)).until(() -> searches.get() > before + 3);
        running.set(false);
        client.join(10_000);
        System.out.printf("%d searches, %d failed%n", searches.get(), failed.get());
        assertThat(failed.get()).isZero();
        assertThat(answeredBy).contains(model1, model2);
        assertThat(milvus.collection(config.collectionPrefix() + model1))
            .as("dropped with --drop-old")
            .isNull();
      }
    }
  }

  private static List<byte[]> publishImages(KafkaBroker kafka, Topics topics) throws Exception {
    try (var admin = kafka.admin()) {
      TopicAdmin.ensureTopics(admin, topics, 2, (short) 1);
    }
    Serdes.productImage();
    List<byte[]> photos = new ArrayList<>();
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(
            kafka.clientProperties(), new StringSerializer(), new ByteArraySerializer())) {
      for (SampleImages.Photo photo : SampleImages.photos("validation", IMAGES)) {
        byte[] bytes = photo.bytes();
        photos.add(bytes);
        ProductImage image =
            ProductImage.newBuilder()
                .setProductId(photo.id())
                .setImageId("1")
                .setVersion(1)
                .setOccurredAt(Instant.now())
                .setSourceUrl("https://shop.example/" + photo.id() + ".jpg")
                .setSha256(
                    io.lookalike.image.ImageNormaliser.sha256(bytes)) // the photo cache's key
                .setMediaType("image/jpeg")
                .setSizeBytes(bytes.length)
                .setWidth(0)
                .setHeight(0)
                .setBytes(ByteBuffer.wrap(bytes))
                .setProduct(ProductMetadata.newBuilder().build())
                .build();
        producer
            .send(
                new ProducerRecord<>(
                    topics.productImages(),
                    new ImageKey(photo.id(), "1").toString(),
                    Serdes.productImage().serialize(image)))
            .get();
      }
    }
    return photos;
  }

  /** Model 1 as a first deployment runs it: its embedder and indexer, then the alias created. */
  private static String indexWithDefaultModel(
      KafkaBroker kafka, MilvusConfig config, Map<String, String> settings) throws Exception {
    Map<String, Object> stage = new HashMap<>(settings);
    stage.put("bootstrap.servers", kafka.bootstrapServers());
    stage.put("state.dir", Files.createTempDirectory("milvus-reembed-it").toString());
    try (DjlEmbedder embedder = DjlEmbedder.loadDefault();
        MilvusVectorStore store =
            MilvusVectorStore.open(
                config, embedder.model().modelId(), embedder.model().dimension());
        Admin admin = kafka.admin();
        EmbedderApp app =
            new EmbedderApp(new HashMap<>(stage), embedder, new SimpleMeterRegistry());
        EmbeddingSink sink =
            new EmbeddingSink(new HashMap<>(stage), store, new SimpleMeterRegistry())) {
      TopicAdmin.ensureTopics(
          admin, Topics.from(stage), 2, (short) 1, embedder.model().modelId()); // its photo cache
      app.start();
      sink.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> store.count() == IMAGES);
      store.activate();
      return embedder.model().modelId();
    }
  }

  record Run(int exit, String out, String err) {}

  private static Run cli(KafkaBroker kafka, Map<String, String> settings, String... args) {
    List<String> all =
        new ArrayList<>(
            List.of(
                "reembed",
                "--store",
                "milvus",
                "-b",
                kafka.bootstrapServers(),
                "--replication-factor",
                "1",
                "--partitions",
                "2",
                "--poll-ms",
                "200"));
    settings.forEach((k, v) -> all.add("-D" + k + "=" + v));
    all.addAll(List.of(args));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine command = new CommandLine(new Lookalike());
    command.setOut(new PrintWriter(out, true));
    command.setErr(new PrintWriter(err, true));
    int exit = command.execute(all.toArray(String[]::new));
    return new Run(exit, out.toString(), err.toString());
  }

  private static String testModel(String file) {
    try {
      return Path.of(MilvusReembedIT.class.getResource("/models/" + file).toURI()).toString();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
