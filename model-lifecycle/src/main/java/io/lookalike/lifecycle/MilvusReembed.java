package io.lookalike.lifecycle;

import io.lookalike.embedder.EmbedderApp;
import io.lookalike.gateway.ActiveModel;
import io.lookalike.gateway.AliasFollower;
import io.lookalike.indexer.EmbeddingSink;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.schemas.Topics;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusVectorStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * {@code lookalike reembed --store milvus}: re-embedding in the distributed mode. In this process
 * it runs the new model's embedder (application.id {@code lookalike-embedder-<modelId>}, as {@code
 * lookalike embedder} uses) and an indexer (group {@code lookalike-indexer-<modelId>}) into the
 * model's own collection, whose property {@code lookalike.model.url} names the model for the
 * gateways; waits until both have caught up, runs the {@link QualityGate} against the collection
 * behind the alias, and if it passes points the alias at the new collection: gateways follow within
 * {@code gateway.alias.refresh.ms}. Then it stops its embedder and indexer: from then on the new
 * model's embedder and indexer must run as deployments of their own ({@code lookalike embedder
 * --model URL}, {@code lookalike indexer} or Kafka Connect), which resume from the offsets
 * committed here. Re-running after an interruption resumes the same way.
 */
public final class MilvusReembed {

  /**
   * With --drop-old: how long to wait after the switch before dropping the old collection (see
   * ReembedConfig).
   */
  public static final String DROP_DELAY_MS_CONFIG = ReembedConfig.DROP_DELAY_MS_CONFIG;

  /** The exit status of a re-embed whose candidate the quality gate refused. */
  public static final int GATE_FAILED = 3;

  /** Creates the pipeline's topics for a model when they are missing. */
  @FunctionalInterface
  public interface TopicCreator {
    void ensureTopics(String modelId) throws InterruptedException;
  }

  private final Map<String, Object> config;
  private final String bootstrapServers;
  private final Topics topics;
  private final TopicCreator topicCreator;
  private final PrintWriter out;
  private final PrintWriter err;

  /** {@code config}: the stage settings with {@code bootstrap.servers}. */
  public MilvusReembed(
      Map<String, Object> config, TopicCreator topicCreator, PrintWriter out, PrintWriter err) {
    this.config = new HashMap<>(config);
    this.bootstrapServers = String.valueOf(config.get("bootstrap.servers"));
    this.topics = Topics.from(config);
    this.topicCreator = topicCreator;
    this.out = out;
    this.err = err;
  }

  public int run(String url, String name, double gate, int sample, boolean dropOld, long pollMs)
      throws Exception {
    return run(url, name, gate, ShopperChecks.DEFAULT_MAX_DROP, sample, dropOld, pollMs);
  }

  /**
   * As above; refused when more than {@code maxDrop} below the current model on the shopper checks.
   */
  public int run(
      String url,
      String name,
      double gate,
      double maxDrop,
      int sample,
      boolean dropOld,
      long pollMs)
      throws Exception {
    long dropDelayMs =
        new ReembedConfig(config).dropDelayMs(); // a wrong value fails now, not after the switch
    MilvusConfig milvus = new MilvusConfig(config);
    try (DjlEmbedder embedder = DjlEmbedder.load(url, name, config);
        MilvusVectorStore alias = MilvusVectorStore.openAlias(milvus)) {
      String modelId = embedder.model().modelId();
      MilvusVectorStore.AliasTarget previous = alias.aliasTarget();
      out.printf(
          "Model %s (%d-d); %s points at %s (model %s).%n",
          modelId,
          embedder.model().dimension(),
          previous.alias(),
          previous.collection(),
          previous.modelId());
      if (modelId.equals(previous.modelId())) {
        out.println("It is the active model already: nothing to do.");
        return 0;
      }
      topicCreator.ensureTopics(modelId);
      Map<String, Object> stageConfig = new HashMap<>(config);
      stageConfig.putIfAbsent(
          "state.dir", Files.createTempDirectory("lookalike-reembed-").toString());
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      try (MilvusVectorStore store =
              MilvusVectorStore.open(
                  milvus,
                  modelId,
                  embedder.model().dimension(),
                  Map.of(MilvusVectorStore.MODEL_URL_PROPERTY, url));
          Admin admin =
              Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
        try (EmbedderApp app = new EmbedderApp(new HashMap<>(stageConfig), embedder, registry);
            // Everything before now is the replay: replay progress, not freshness.
            EmbeddingSink sink =
                new EmbeddingSink(
                    new HashMap<>(stageConfig), store, registry, java.time.Instant.now())) {
          app.start();
          sink.start();
          out.printf(
              "Replaying %s through %s into %s…%n",
              topics.productImages(), modelId, store.collectionName());
          out.flush();
          waitUntilCaughtUp(admin, ModelPipelines.embedderGroup(modelId), sink, pollMs);
          out.printf("Caught up: %d images indexed.%n", store.count());
          out.printf(
              "Checking %s against %s on %d sampled photos…%n",
              modelId, previous.modelId(), sample);
          out.flush();
          ActiveModel current = AliasFollower.load(milvus, config, previous);
          QualityGate.Result check;
          try {
            check =
                QualityGate.check(
                    bootstrapServers,
                    topics.productImages(),
                    new ActiveModel(embedder, store),
                    current,
                    sample,
                    42,
                    ShopperChecks.DEFAULT_FIELD,
                    // the stage settings' registry keys: product-images may be Confluent-framed
                    new SchemaRegistryConfig(config).clientOrNull());
          } finally {
            current.store().close();
            current.embedder().close();
          }
          if (!ReembedConsole.report(
              out,
              err,
              check,
              previous.modelId(),
              gate,
              "collection " + store.collectionName() + " stays until dropped.")) {
            return GATE_FAILED;
          }
          ShopperChecksReport.print(out, check.shopper(), previous.modelId());
          String worse = check.shopper().refusal(maxDrop);
          if (worse != null) {
            err.printf(
                Locale.ROOT,
                "Not switching: %s. %s stays active; collection %s stays until dropped.%n",
                worse,
                previous.modelId(),
                store.collectionName());
            return GATE_FAILED;
          }
          store.activate();
          out.printf(
              "Switched: %s now points at %s (was %s); gateways follow within gateway.alias.refresh.ms.%n",
              previous.alias(), store.collectionName(), previous.collection());
        } // the in-process embedder and indexer stop here
        out.printf(
            "Run the new model's embedder and indexer as deployments now (they resume from here):%n"
                + "  lookalike embedder --model %s%n  lookalike indexer --store milvus --model-id %s --dimension %d"
                + "   (or the Kafka Connect sink)%n",
            url, modelId, embedder.model().dimension());
        if (dropOld) {
          long delayMs = dropDelayMs;
          out.printf(
              "Dropping %s in %d s, once every gateway has followed the alias…%n",
              previous.collection(), delayMs / 1000);
          out.flush();
          Thread.sleep(delayMs);
          try (MilvusVectorStore old =
              MilvusVectorStore.open(milvus, previous.modelId(), previous.dimension())) {
            old.drop();
          }
          out.printf(
              "Dropped collection %s: stop model %s's embedder and indexer, or its indexer recreates it.%n",
              previous.collection(), previous.modelId());
        }
        return 0;
      }
    }
  }

  private void waitUntilCaughtUp(Admin admin, String embedderGroup, EmbeddingSink sink, long pollMs)
      throws Exception {
    String topic = topics.productImages();
    ReembedConsole.follow(
        () -> {
          long[] replayed = ModelPipelines.replayed(admin, topic, embedderGroup);
          long embedderLag = replayed[1] - replayed[0];
          // the sink's lag only counts once the embedder has written everything it will write
          long indexerLag = embedderLag > 0 ? -1 : sink.lag();
          long lag = indexerLag < 0 ? embedderLag : embedderLag + indexerLag;
          return new ReembedConsole.Step(
              replayed[0], replayed[1], lag, embedderLag == 0 && indexerLag == 0);
        },
        pollMs);
  }
}
