package io.lookalike.local;

import io.lookalike.embedder.DjlEmbedder;
import io.lookalike.embedder.EmbedderApp;
import io.lookalike.embedder.EmbeddingModelConfig;
import io.lookalike.gateway.ActiveModel;
import io.lookalike.indexer.EmbeddingSink;
import io.lookalike.indexer.milvus.MilvusConfig;
import io.lookalike.indexer.milvus.MilvusVectorStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * {@code lookalike reembed --store milvus}: re-embedding in the distributed mode. In this process it runs
 * the new model's embedder (application.id {@code lookalike-embedder-<modelId>}, as {@code lookalike embedder}
 * uses) and an indexer (group {@code lookalike-indexer-<modelId>}) into the model's own collection, whose
 * property {@code lookalike.model.url} names the model for the gateways; waits until both have caught up,
 * runs the {@link QualityGate} against the collection behind the alias, and if it passes points the alias at
 * the new collection: gateways follow within {@code gateway.alias.refresh.ms}. Then it stops its embedder and
 * indexer: from then on the new model's embedder and indexer must run as deployments of their own
 * ({@code lookalike embedder --model URL}, {@code lookalike indexer} or Kafka Connect), which resume from the
 * offsets committed here. Re-running after an interruption resumes the same way.
 */
final class MilvusReembed {

  /**
   * With --drop-old: how long to wait after the switch before dropping the old collection, so that every
   * gateway has followed the alias (refresh interval plus loading the new model) and finished its searches.
   */
  static final String DROP_DELAY_MS_CONFIG = "reembed.drop.delay.ms";
  static final long DROP_DELAY_MS_DEFAULT = 60_000;

  private final StageCommands.Common common;
  private final PrintWriter out;
  private final PrintWriter err;

  MilvusReembed(StageCommands.Common common, PrintWriter out, PrintWriter err) {
    this.common = common;
    this.out = out;
    this.err = err;
  }

  int run(String url, String name, double gate, int sample, boolean dropOld, long pollMs) throws Exception {
    return run(url, name, gate, ShopperChecks.DEFAULT_MAX_DROP, sample, dropOld, pollMs);
  }

  /** As above; refused when more than {@code maxDrop} below the current model on the shopper checks. */
  int run(String url, String name, double gate, double maxDrop, int sample, boolean dropOld, long pollMs)
      throws Exception {
    Map<String, Object> config = common.config();
    MilvusConfig milvus = new MilvusConfig(common.settings);
    EmbeddingModelConfig base = EmbeddingModelConfig.from(config);
    try (DjlEmbedder embedder = DjlEmbedder.load(new EmbeddingModelConfig(url, name, base.inputSizePx(),
             base.resizePx(), base.mean(), base.std(), base.batchMaxSize()));
         MilvusVectorStore alias = MilvusVectorStore.openAlias(milvus)) {
      String modelId = embedder.model().modelId();
      MilvusVectorStore.AliasTarget previous = alias.aliasTarget();
      out.printf("Model %s (%d-d); %s points at %s (model %s).%n", modelId, embedder.model().dimension(),
          previous.alias(), previous.collection(), previous.modelId());
      if (modelId.equals(previous.modelId())) {
        out.println("It is the active model already: nothing to do.");
        return 0;
      }
      common.ensureTopics(modelId);
      Map<String, Object> stageConfig = new HashMap<>(config);
      stageConfig.putIfAbsent("state.dir", Files.createTempDirectory("lookalike-reembed-").toString());
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      try (MilvusVectorStore store = MilvusVectorStore.open(milvus, modelId, embedder.model().dimension(),
               Map.of(MilvusVectorStore.MODEL_URL_PROPERTY, url));
           Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, common.bootstrapServers))) {
        try (EmbedderApp app = new EmbedderApp(new HashMap<>(stageConfig), embedder, registry);
             EmbeddingSink sink = new EmbeddingSink(new HashMap<>(stageConfig), store, registry)) {
          app.start();
          sink.start();
          out.printf("Replaying %s through %s into %s…%n", common.topics().productImages(), modelId,
              store.collectionName());
          out.flush();
          waitUntilCaughtUp(admin, ModelPipelines.embedderGroup(modelId), sink, pollMs);
          out.printf("Caught up: %d images indexed.%n", store.count());
          out.printf("Checking %s against %s on %d sampled photos…%n", modelId, previous.modelId(), sample);
          out.flush();
          ActiveModel current = AliasFollower.load(milvus, config, previous);
          QualityGate.Result check;
          try {
            check = QualityGate.check(common.bootstrapServers, common.topics().productImages(),
                new ActiveModel(embedder, store), current, sample, 42);
          } finally {
            current.store().close();
            current.embedder().close();
          }
          out.printf(Locale.ROOT, "  near-duplicate recall@1: %.3f (%d of %d altered copies found their product first)%n",
              check.nearDuplicateRecall(), check.found(), check.sampled());
          out.printf(Locale.ROOT, "  agreement@1 with %s: %.3f (top-10 overlap %.2f)%n", previous.modelId(),
              check.agreement(), check.top10Overlap());
          if (check.sampled() == 0 || check.nearDuplicateRecall() < gate) {
            err.printf(Locale.ROOT, "Not switching: near-duplicate recall@1 %.3f is below the gate %.3f%s. %s stays"
                + " active; collection %s stays until dropped.%n", check.nearDuplicateRecall(), gate,
                check.sampled() == 0 ? " (no indexed photo to sample)" : "", previous.modelId(), store.collectionName());
            return ModelCommands.GATE_FAILED;
          }
          ShopperChecksReport.print(out, check.shopper(), previous.modelId());
          String worse = check.shopper().refusal(maxDrop);
          if (worse != null) {
            err.printf(Locale.ROOT, "Not switching: %s. %s stays active; collection %s stays until dropped.%n", worse,
                previous.modelId(), store.collectionName());
            return ModelCommands.GATE_FAILED;
          }
          store.activate();
          out.printf("Switched: %s now points at %s (was %s); gateways follow within gateway.alias.refresh.ms.%n",
              previous.alias(), store.collectionName(), previous.collection());
        } // the in-process embedder and indexer stop here
        out.printf("Run the new model's embedder and indexer as deployments now (they resume from here):%n"
            + "  lookalike embedder --model %s%n  lookalike indexer --store milvus --model-id %s --dimension %d"
            + "   (or the Kafka Connect sink)%n", url, modelId, embedder.model().dimension());
        if (dropOld) {
          long delayMs = Long.parseLong(String.valueOf(config.getOrDefault(DROP_DELAY_MS_CONFIG, DROP_DELAY_MS_DEFAULT)));
          out.printf("Dropping %s in %d s, once every gateway has followed the alias…%n", previous.collection(),
              delayMs / 1000);
          out.flush();
          Thread.sleep(delayMs);
          try (MilvusVectorStore old = MilvusVectorStore.open(milvus, previous.modelId(), previous.dimension())) {
            old.drop();
          }
          out.printf("Dropped collection %s: stop model %s's embedder and indexer, or its indexer recreates it.%n",
              previous.collection(), previous.modelId());
        }
        return 0;
      }
    }
  }

  private void waitUntilCaughtUp(Admin admin, String embedderGroup, EmbeddingSink sink, long pollMs)
      throws Exception {
    String topic = common.topics().productImages();
    long[] replayed = ModelPipelines.replayed(admin, topic, embedderGroup);
    try (ProgressBar bar = new ProgressBarBuilder().setTaskName("Re-embedding")
        .setInitialMax(Math.max(1, replayed[1])).setStyle(ProgressBarStyle.ASCII).setUnit(" rec", 1).showSpeed()
        .setConsumer(new ConsoleProgressBarConsumer(System.err))
        .startsFrom(replayed[0], Duration.ZERO).build()) {
      while (true) {
        long indexerLag = replayed[0] < replayed[1] ? -1 : sink.lag();
        bar.maxHint(Math.max(1, replayed[1]));
        bar.stepTo(replayed[0]);
        bar.setExtraMessage(" lag " + (replayed[1] - replayed[0]) + (indexerLag > 0 ? " + " + indexerLag : ""));
        if (replayed[0] == replayed[1] && indexerLag == 0) {
          break;
        }
        Thread.sleep(pollMs);
        replayed = ModelPipelines.replayed(admin, topic, embedderGroup);
      }
      bar.stepTo(bar.getMax());
    }
  }
}
