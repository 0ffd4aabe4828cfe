package io.lookalike.gateway;

import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.store.milvus.MilvusAlias;
import io.lookalike.store.milvus.MilvusConfig;
import io.lookalike.store.milvus.MilvusVectorStore;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the distributed gateway's {@link ActiveModel} on the model that {@code milvus.alias} points
 * at. Every {@code gateway.alias.refresh.ms} it describes the alias; when it points at another
 * model's collection, it loads that model (URL from the collection's {@link
 * MilvusVectorStore#MODEL_URL_PROPERTY}, which {@code lookalike reembed --store milvus} sets; none:
 * {@code --model} or the bundled default, if their modelId matches), opens that collection, and
 * only then swaps embedder and collection in one step. Until then searches keep using the old pair.
 * Each pair searches its own collection, never the alias, so a query is always embedded and
 * searched with the same model. The old pair is closed a while later, once the searches that read
 * it have finished.
 *
 * <p>On a fresh cluster the alias does not exist until the sink's first write: the follower then
 * starts with no model ({@link #get()} null, so searches answer 503 {@code no_index} and {@link
 * #health()} is DOWN) and loads the model once the alias appears.
 */
public final class AliasFollower implements Supplier<ActiveModel>, AutoCloseable {

  /** How often the alias is checked, in milliseconds. */
  public static final String REFRESH_MS_CONFIG = GatewayConfig.ALIAS_REFRESH_MS_CONFIG;

  /** How long a replaced pair stays open for the searches still using it. */
  private static final long RETIRE_AFTER_MS = 30_000;

  private static final Logger log = LoggerFactory.getLogger(AliasFollower.class);

  private final MilvusConfig milvus;
  private final Map<String, Object> config;
  private final MilvusAlias alias;
  private final AtomicReference<ActiveModel> active = new AtomicReference<>();
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread thread = new Thread(r, "lookalike-alias-follower");
            thread.setDaemon(true);
            return thread;
          });
  private volatile String failedTarget;

  /**
   * Loads the model the alias points at now, if it exists (fails if that model cannot be loaded),
   * and starts following the alias. Fails when Milvus cannot be reached.
   *
   * @param config the gateway's settings: milvus.*, model.* (preprocessing), {@code model.url} as
   *     the model of collections that name none, {@link #REFRESH_MS_CONFIG}
   */
  public AliasFollower(Map<String, Object> config) {
    this.config = new HashMap<>(config);
    Map<String, String> strings = new HashMap<>();
    config.forEach((k, v) -> strings.put(k, String.valueOf(v)));
    this.milvus = new MilvusConfig(strings);
    long refreshMs = new GatewayConfig(config).aliasRefreshMs();
    this.alias = MilvusAlias.connect(milvus);
    try {
      alias
          .target()
          .ifPresentOrElse(
              target -> active.set(load(milvus, this.config, target)),
              () ->
                  log.info(
                      "Waiting for Milvus alias {}: no model to search with until it exists"
                          + " (checked every {} ms)",
                      milvus.alias(),
                      refreshMs));
    } catch (RuntimeException e) {
      alias.close();
      throw e;
    }
    scheduler.scheduleWithFixedDelay(this::refresh, refreshMs, refreshMs, TimeUnit.MILLISECONDS);
  }

  /** The model searches use now; null while the alias does not exist yet. */
  @Override
  public ActiveModel get() {
    return active.get();
  }

  /** For {@code /health}: DOWN while waiting for the alias, UP once its model is loaded. */
  public HealthCheck.Status health() {
    ActiveModel now = active.get();
    return now == null
        ? HealthCheck.Status.down("waiting for Milvus alias " + milvus.alias())
        : HealthCheck.Status.up("Milvus alias " + milvus.alias() + ": model " + now.modelId());
  }

  /**
   * Checks the alias once; swaps to its model when it moved. Never throws: the old pair keeps
   * serving.
   */
  void refresh() {
    try {
      MilvusVectorStore.AliasTarget target = alias.target().orElse(null);
      ActiveModel current = active.get();
      if (target == null // not there yet (or removed: keep searching the old pair)
          || (current != null && target.modelId().equals(current.modelId()))
          || target.collection().equals(failedTarget)) {
        return;
      }
      log.info(
          "Milvus alias {} now points at {}: loading model {}",
          target.alias(),
          target.collection(),
          target.modelId());
      ActiveModel next;
      try {
        next = load(milvus, config, target);
      } catch (RuntimeException e) {
        failedTarget = target.collection(); // not retried until the alias moves again
        log.error(
            "Cannot follow Milvus alias {} to {}; still searching with {}",
            target.alias(),
            target.collection(),
            modelIdOf(current),
            e);
        return;
      }
      active.set(next);
      failedTarget = null;
      log.info("Searching with model {} (was {})", next.modelId(), modelIdOf(current));
      if (current != null) {
        scheduler.schedule(() -> closeQuietly(current), RETIRE_AFTER_MS, TimeUnit.MILLISECONDS);
      }
    } catch (RuntimeException e) {
      log.warn(
          "Cannot read Milvus alias {}; still searching with {}: {}",
          milvus.alias(),
          modelIdOf(active.get()),
          e.toString());
    }
  }

  /**
   * The model the alias points at: its embedder (from the collection's model URL; none recorded:
   * {@code model.url} of {@code config} or the bundled default) and its collection, opened by name
   * rather than through the alias.
   */
  public static ActiveModel load(
      MilvusConfig milvus, Map<String, Object> config, MilvusVectorStore.AliasTarget target) {
    String url =
        target.modelUrl().isEmpty()
            ? String.valueOf(config.getOrDefault(EmbeddingModelConfig.URL_CONFIG, ""))
            : target.modelUrl();
    DjlEmbedder embedder =
        url.isEmpty() ? DjlEmbedder.loadDefault() : DjlEmbedder.load(url, null, config);
    try {
      if (!embedder.model().modelId().equals(target.modelId())) {
        throw new IllegalStateException(
            "Milvus alias "
                + target.alias()
                + " points at the collection of model "
                + target.modelId()
                + ", but "
                + (url.isEmpty() ? "the bundled default model" : url)
                + " is model "
                + embedder.model().modelId()
                + "; record the model in the collection's property "
                + MilvusVectorStore.MODEL_URL_PROPERTY
                + " (lookalike reembed --store milvus does) or pass --model");
      }
      return new ActiveModel(
          embedder, MilvusVectorStore.open(milvus, target.modelId(), target.dimension()));
    } catch (RuntimeException e) {
      embedder.close();
      throw e;
    }
  }

  private static String modelIdOf(ActiveModel model) {
    return model == null ? "none" : model.modelId();
  }

  private static void closeQuietly(ActiveModel model) {
    if (model == null) {
      return;
    }
    try {
      model.store().close();
      model.embedder().close();
    } catch (Exception e) {
      log.warn("Cannot close the retired model {}: {}", model.modelId(), e.toString());
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    closeQuietly(active.get());
    alias.close();
  }
}
