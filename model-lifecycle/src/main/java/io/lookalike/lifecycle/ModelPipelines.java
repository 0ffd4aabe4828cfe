package io.lookalike.lifecycle;

import io.lookalike.embedder.EmbedderApp;
import io.lookalike.gateway.ActiveModel;
import io.lookalike.gateway.ModelDirectory;
import io.lookalike.gateway.ModelStatus;
import io.lookalike.gateway.ShadowCandidates;
import io.lookalike.indexer.EmbeddingSink;
import io.lookalike.model.BadModelOutputException;
import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.Embedder;
import io.lookalike.schemas.GroupProgress;
import io.lookalike.schemas.TopicAdmin;
import io.lookalike.schemas.Topics;
import io.lookalike.store.VectorStore;
import io.lookalike.store.lucene.LuceneVectorStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipeline of every registered model (its embedder app, its Lucene index under {@code
 * <data>/index/<modelId>} and the sink between them) and the pointer to the active one. All of them
 * consume {@code catalog.product-images}, so live changes reach every index; a new model replays
 * the topic from the start. Switching is one {@link AtomicReference} swap, persisted in the
 * registry.
 */
public final class ModelPipelines implements ModelDirectory, ShadowCandidates, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ModelPipelines.class);
  private static final long ADMIN_TIMEOUT_MS = 10_000;

  /** How the reason of a model refused for its own first batch starts. */
  private static final String BROKEN = "broken model: ";

  /**
   * How long an activation waits for a model that has caught up once to drain its last live
   * records.
   */
  private static final long ACTIVATE_WAIT_MS = 15_000;

  /** One model's running pipeline. */
  public static final class Pipeline implements AutoCloseable {
    private final ModelRegistry.Entry entry;
    private final DjlEmbedder embedder;
    private final LuceneVectorStore store;
    private final EmbedderApp app;
    private final EmbeddingSink sink;
    private final String sinkGroup;
    private final ActiveModel asActive;

    private Pipeline(
        ModelRegistry.Entry entry,
        DjlEmbedder embedder,
        LuceneVectorStore store,
        EmbedderApp app,
        EmbeddingSink sink) {
      this.entry = entry;
      this.embedder = embedder;
      this.store = store;
      this.app = app;
      this.sink = sink;
      this.sinkGroup = sink == null ? defaultSinkGroup(entry.modelId()) : sink.groupId();
      // Null while a failed start is cleaned up (no store yet).
      this.asActive = store == null ? null : new ActiveModel(embedder, store);
    }

    /** Whether its embedder app and sink run (false for a refused model not kept warm). */
    public boolean consuming() {
      return app != null;
    }

    /**
     * The same model and index with its embedder app and sink stopped (they leave their groups;
     * their offsets stay, so a later start resumes).
     */
    private Pipeline stopped() {
      AutoCloseable leave = app == null ? null : () -> app.app().closeLeavingGroup();
      closeAll(new AutoCloseable[] {sink, leave});
      return new Pipeline(entry, embedder, store, null, null);
    }

    public String modelId() {
      return entry.modelId();
    }

    public Embedder embedder() {
      return embedder;
    }

    public VectorStore store() {
      return store;
    }

    public EmbedderApp app() {
      return app;
    }

    public EmbeddingSink sink() {
      return sink;
    }

    /** This model as the gateway would use it. */
    public ActiveModel asActiveModel() {
      return asActive;
    }

    /**
     * Stops the sink, then the embedder app (leaving its group, so a restart or a drop need not
     * wait for it).
     */
    @Override
    public void close() {
      AutoCloseable leave = app == null ? null : () -> app.app().closeLeavingGroup();
      closeAll(new AutoCloseable[] {sink, leave, store, embedder});
    }

    private void closeAll(AutoCloseable[] parts) {
      for (AutoCloseable part : parts) {
        if (part == null) {
          continue;
        }
        try {
          part.close();
        } catch (Exception e) {
          log.warn(
              "Error while stopping {} of model {}",
              part.getClass().getSimpleName(),
              entry.modelId(),
              e);
        }
      }
    }
  }

  /**
   * How far one model's pipeline is. {@code done} and {@code total} count records of {@code
   * product-images} (every version and tombstone, not only live images) from the embedder's
   * committed offsets and the topic's end offsets; {@code lag} adds the embeddings not yet indexed.
   * Lags are -1 when the broker cannot tell. {@code rate} is records per second since this process
   * first reported on the model.
   */
  public record Progress(
      String modelId,
      long done,
      long total,
      long embedderLag,
      long indexerLag,
      long lag,
      long vectors,
      double rate,
      boolean caughtUp,
      String state,
      String reason) {}

  private final Path dataDir;
  private final Map<String, Object> stageConfig;
  private final Topics topics;
  private final int partitions;
  private final MeterRegistry registry;
  private final Admin admin;
  private final ModelRegistry models;
  private final Map<String, Pipeline> pipelines = new ConcurrentHashMap<>();
  private final Map<String, long[]> firstSeen = new ConcurrentHashMap<>();
  private final AtomicReference<ActiveModel> active = new AtomicReference<>();

  /**
   * @param stageConfig the stages' settings: bootstrap.servers, state.dir and any overrides ({@code
   *     model.*} keys give the preprocessing of every model)
   */
  public ModelPipelines(
      Path dataDir,
      Map<String, Object> stageConfig,
      Topics topics,
      int partitions,
      MeterRegistry registry) {
    this.dataDir = dataDir;
    this.stageConfig = Map.copyOf(stageConfig);
    this.topics = topics;
    this.partitions = partitions;
    this.registry = registry;
    this.admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                stageConfig.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)));
    this.models = ModelRegistry.load(dataDir.resolve("models.json"));
  }

  /**
   * Starts the pipeline of every registered model and restores the active pointer. On first start
   * (nothing registered) registers {@code firstModelUrl} (empty: the bundled default) and makes it
   * active.
   */
  public synchronized ModelPipelines start(String firstModelUrl) {
    for (ModelRegistry.Entry entry : models.models()) {
      DjlEmbedder embedder = DjlEmbedder.load(entry.url(), entry.name(), stageConfig);
      if (!embedder.model().modelId().equals(entry.modelId())) {
        embedder.close();
        throw new IllegalStateException(
            "The model at "
                + entry.url()
                + " is now "
                + embedder.model().modelId()
                + ", not the registered "
                + entry.modelId()
                + ": its file changed; register it again with reembed");
      }
      pipelines.put(
          entry.modelId(),
          entry.stopped() ? openStopped(entry, embedder) : startPipeline(entry, embedder));
    }
    if (pipelines.isEmpty()) {
      String modelId = register(firstModelUrl, null).modelId();
      models.activate(modelId);
    }
    String activeId = models.active();
    if (activeId == null || !pipelines.containsKey(activeId)) {
      activeId = models.models().get(0).modelId();
      models.activate(activeId);
    }
    active.set(pipelines.get(activeId).asActive);
    pipelines.keySet().forEach(this::registerGauges);
    log.info("Models: {}; active: {}", pipelines.keySet(), activeId);
    return this;
  }

  /** What searches use now. */
  public ActiveModel active() {
    return active.get();
  }

  /**
   * The models live searches are mirrored to: every consuming one that is not active, not refused
   * and not broken (catching up, or caught up and waiting for the switch). No broker calls.
   */
  @Override
  public List<ActiveModel> shadowed() {
    ActiveModel now = active.get();
    List<ActiveModel> out = new ArrayList<>();
    for (Pipeline pipeline : pipelines.values()) {
      if (pipeline.asActive == null
          || !pipeline.consuming()
          || (now != null && now.modelId().equals(pipeline.modelId()))
          || pipeline.embedder.brokenReason() != null
          || models.get(pipeline.modelId()).map(e -> e.refused() != null).orElse(true)) {
        continue;
      }
      out.add(pipeline.asActive);
    }
    return out;
  }

  @Override
  public boolean known(String modelId) {
    return pipelines.containsKey(modelId);
  }

  public Pipeline pipeline(String modelId) {
    Pipeline pipeline = pipelines.get(modelId);
    if (pipeline == null) {
      throw new ModelLifecycleException(
          ModelLifecycleException.Reason.UNKNOWN_MODEL,
          "no model " + modelId + " is registered; known: " + pipelines.keySet());
    }
    return pipeline;
  }

  /** Where the model was loaded from (empty: the bundled default). */
  public String pipelineUrl(String modelId) {
    return models.get(modelId).map(ModelRegistry.Entry::url).orElse(null);
  }

  public Set<String> modelIds() {
    return Set.copyOf(pipelines.keySet());
  }

  /**
   * Loads the model and starts its pipeline: a new embedder app replays {@code product-images} from
   * the start into {@code image-embeddings.<modelId>}, and a sink fills a new index. A model
   * already registered (same weights, so same modelId) is left as it is, so re-running after an
   * interruption resumes from its committed offsets.
   */
  public synchronized ModelStatus register(String url, String name) {
    DjlEmbedder embedder;
    try {
      embedder = DjlEmbedder.load(url, name, stageConfig);
    } catch (BadModelOutputException e) {
      throw new ModelLifecycleException(
          ModelLifecycleException.Reason.BAD_MODEL, "cannot use that model: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      // The reason names server paths (model file, caches): it goes to the log, not to the caller.
      log.warn("Cannot load the model {}", url, e);
      throw new ModelLifecycleException(
          ModelLifecycleException.Reason.BAD_MODEL,
          "cannot load that model ("
              + e.getClass().getSimpleName()
              + "); the gateway's log says why",
          e);
    }
    String modelId = embedder.model().modelId();
    int dimension = embedder.model().dimension();
    if (dimension > LuceneVectorStore.MAX_DIMENSION) {
      // Refused before anything is made: no topic, no index, no registry entry.
      embedder.close();
      throw new ModelLifecycleException(
          ModelLifecycleException.Reason.BAD_MODEL,
          "the model outputs "
              + dimension
              + " dimensions; an index holds at most "
              + LuceneVectorStore.MAX_DIMENSION
              + " (dimension must be in [1, "
              + LuceneVectorStore.MAX_DIMENSION
              + "])");
    }
    Pipeline existing = pipelines.get(modelId);
    if (existing != null) {
      ModelRegistry.Entry known = models.get(modelId).orElse(existing.entry);
      if (known.refused() != null && !existing.consuming()) {
        // Registering a refused model again asks for another try: it resumes from its offsets.
        ModelRegistry.Entry retried = known.withRefused(null, false);
        existing.close();
        pipelines.put(modelId, startPipeline(retried, embedder));
        models.put(retried);
        log.info("Model {} was refused; registered again, it resumes", modelId);
      } else {
        embedder.close();
        if (known.refused() != null) {
          models.put(known.withRefused(null, false));
        }
        log.info("Model {} is registered already; its pipeline goes on", modelId);
      }
      return status(modelId);
    }
    ModelRegistry.Entry entry =
        new ModelRegistry.Entry(
            modelId,
            embedder.model().name(),
            url == null ? "" : url,
            embedder.model().dimension(),
            Instant.now().toString(),
            null);
    pipelines.put(modelId, startPipeline(entry, embedder));
    models.put(entry);
    registerGauges(modelId);
    log.info(
        "Registered model {} ({}-d) from {}: replaying {}",
        modelId,
        entry.dimension(),
        entry.url().isEmpty() ? "the bundled default" : entry.url(),
        topics.productImages());
    return status(modelId);
  }

  /**
   * Makes the model the one searches use, in one step. Refused unless it has caught up: its lag
   * must reach 0 within a few seconds (live changes keep arriving, so it is rarely 0 for long).
   */
  public synchronized ModelStatus activate(String modelId) {
    Pipeline pipeline = pipeline(modelId);
    String refused = models.get(modelId).map(ModelRegistry.Entry::refused).orElse(null);
    if (refused != null) {
      throw new ModelLifecycleException(
          ModelLifecycleException.Reason.REFUSED_MODEL,
          "model "
              + modelId
              + " was refused ("
              + refused
              + "); register it again (lookalike reembed) to give it another try");
    }
    long deadline = System.currentTimeMillis() + ACTIVATE_WAIT_MS;
    Progress progress = progress(modelId);
    while (!progress.caughtUp()) {
      if (System.currentTimeMillis() > deadline) {
        throw new ModelLifecycleException(
            ModelLifecycleException.Reason.NOT_CAUGHT_UP,
            "model "
                + modelId
                + " has not caught up: "
                + (progress.lag() < 0
                    ? "its lag cannot be read"
                    : progress.lag() + " records left to embed or index"));
      }
      sleep(200);
      progress = progress(modelId);
    }
    ActiveModel previous = active.getAndSet(pipeline.asActive);
    models.activate(modelId);
    log.info(
        "Active model switched from {} to {}",
        previous == null ? "none" : previous.modelId(),
        modelId);
    return status(modelId);
  }

  /**
   * Marks a model refused, persisted, with the reason: it shows as {@link ModelStatus#REFUSED},
   * cannot be activated, and, unless {@code keepWarm}, its embedder app and sink stop (also after a
   * restart) until it is registered again. The active model cannot be refused.
   */
  public synchronized ModelStatus refuse(String modelId, String reason, boolean keepWarm) {
    Pipeline pipeline = pipeline(modelId);
    ActiveModel now = active.get();
    if (now != null && now.modelId().equals(modelId)) {
      throw new ModelLifecycleException(
          ModelLifecycleException.Reason.ACTIVE_MODEL,
          "model " + modelId + " is the active one: it cannot be refused");
    }
    ModelRegistry.Entry entry = models.get(modelId).orElse(pipeline.entry);
    models.put(
        entry.withRefused(reason == null || reason.isBlank() ? "refused" : reason, keepWarm));
    if (!keepWarm && pipeline.consuming()) {
      pipelines.put(modelId, pipeline.stopped());
      log.info("Model {} refused ({}): its pipeline stopped consuming", modelId, reason);
    } else {
      log.info("Model {} refused ({}){}", modelId, reason, keepWarm ? "; kept warm" : "");
    }
    return status(modelId);
  }

  /**
   * Stops the model's pipeline and deletes everything it made: its index, its embeddings topic and
   * photo cache topic, its embedder app's local state and internal topics, and both consumer
   * groups. The active model cannot be dropped.
   */
  public synchronized void drop(String modelId) {
    Pipeline pipeline = pipeline(modelId);
    ActiveModel now = active.get();
    if (now != null && now.modelId().equals(modelId)) {
      throw new ModelLifecycleException(
          ModelLifecycleException.Reason.ACTIVE_MODEL,
          "model " + modelId + " is the active one: activate another model before dropping it");
    }
    pipelines.remove(modelId);
    firstSeen.remove(modelId);
    pipeline.close();
    String appId = embedderGroup(modelId);
    deleteGroups(modelId, List.of(appId, pipeline.sinkGroup));
    removeMeters(modelId);
    try {
      Set<String> doomed =
          admin.listTopics().names().get(ADMIN_TIMEOUT_MS, TimeUnit.MILLISECONDS).stream()
              .filter(
                  t ->
                      t.equals(topics.embeddings(modelId))
                          || t.equals(topics.embeddingCache(modelId))
                          || t.startsWith(appId + "-"))
              .collect(Collectors.toSet());
      admin.deleteTopics(doomed).all().get(ADMIN_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      // Deletion is asynchronous: wait, so that registering the same model again starts from
      // nothing.
      long deadline = System.currentTimeMillis() + 30_000;
      while (System.currentTimeMillis() < deadline
          && admin.listTopics().names().get(ADMIN_TIMEOUT_MS, TimeUnit.MILLISECONDS).stream()
              .anyMatch(doomed::contains)) {
        sleep(200);
      }
    } catch (Exception e) {
      if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
        log.warn("Could not delete the topics of model {}", modelId, e);
      }
    }
    deleteRecursively(indexDir(modelId));
    Object stateDir = stageConfig.get(StreamsConfig.STATE_DIR_CONFIG);
    if (stateDir != null) {
      deleteRecursively(Path.of(stateDir.toString()).resolve(appId));
    }
    models.remove(modelId);
    log.info("Dropped model {}", modelId);
  }

  /**
   * Removes the model's meters (every meter tagged {@code model=<modelId>}, and the Kafka clients'
   * meters of its embedder app and sink), so that /metrics stops reporting a dropped model.
   */
  private void removeMeters(String modelId) {
    String appId = embedderGroup(modelId);
    for (var meter : List.copyOf(registry.getMeters())) {
      var id = meter.getId();
      boolean ours =
          modelId.equals(id.getTag("model"))
              || id.getTags().stream()
                  .anyMatch(
                      t ->
                          names(t.getValue(), appId)
                              || names(t.getValue(), defaultSinkGroup(modelId)));
      if (ours) {
        registry.remove(meter);
      }
    }
  }

  /** Whether a Kafka client tag value (client.id, group) is {@code name} or one of its clients. */
  private static boolean names(String value, String name) {
    return value.equals(name) || value.startsWith(name + "-") || value.contains("-" + name + "-");
  }

  /**
   * Deletes the groups, so that the same model registered again starts from nothing; retries while
   * members leave.
   */
  private void deleteGroups(String modelId, List<String> groups) {
    long deadline = System.currentTimeMillis() + 30_000;
    for (String group : groups) {
      while (true) {
        try {
          admin
              .deleteConsumerGroups(List.of(group))
              .all()
              .get(ADMIN_TIMEOUT_MS, TimeUnit.MILLISECONDS);
          break;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        } catch (Exception e) {
          if (e.getCause() instanceof GroupIdNotFoundException) {
            break;
          }
          if (!(e.getCause() instanceof GroupNotEmptyException)
              || System.currentTimeMillis() > deadline) {
            throw new IllegalStateException(
                "Could not delete the consumer group "
                    + group
                    + " of model "
                    + modelId
                    + ": "
                    + e.getMessage(),
                e);
          }
          sleep(500);
        }
      }
    }
  }

  /** How far the model's replay is; see {@link Progress}. */
  public Progress progress(String modelId) {
    Pipeline pipeline = pipeline(modelId);
    long done = -1;
    long total = -1;
    try {
      long[] replayed = replayed(admin, topics.productImages(), embedderGroup(modelId));
      done = replayed[0];
      total = replayed[1];
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.debug("Cannot read the embedder offsets of model {}", modelId, e);
    }
    long embedderLag = done < 0 ? -1 : total - done;
    long indexerLag =
        embedderLag < 0 ? -1 : indexerLag(pipeline); // after the embedder's: sees what it wrote
    long lag = embedderLag < 0 || indexerLag < 0 ? -1 : embedderLag + indexerLag;
    ModelRegistry.Entry entry = models.get(modelId).orElse(pipeline.entry);
    // Read before the offsets are committed, so a replay that caught up shows a broken model too.
    String broken = pipeline.embedder.brokenReason();
    String reason =
        entry.refused() != null ? entry.refused() : broken == null ? null : BROKEN + broken;
    boolean caughtUp = lag == 0 && reason == null;
    if (caughtUp && entry.caughtUpAt() == null) {
      models.put(entry.withCaughtUpAt(Instant.now().toString()));
      log.info(
          "Model {} has caught up: {} records of {} embedded, {} images indexed",
          modelId,
          done,
          topics.productImages(),
          pipeline.store.count());
    }
    long now = System.nanoTime();
    long doneSoFar = doneOr0(done);
    long[] first = firstSeen.computeIfAbsent(modelId, id -> new long[] {now, doneSoFar});
    double seconds = (now - first[0]) / 1e9;
    double rate = seconds < 0.5 ? 0 : Math.max(0, doneOr0(done) - first[1]) / seconds;
    return new Progress(
        modelId,
        done,
        total,
        embedderLag,
        indexerLag,
        lag,
        pipeline.store.count(),
        rate,
        caughtUp,
        reason != null && !ModelStatus.ACTIVE.equals(state(modelId, caughtUp))
            ? ModelStatus.REFUSED
            : state(modelId, caughtUp),
        reason);
  }

  private long indexerLag(Pipeline pipeline) {
    if (pipeline.sink != null) {
      return pipeline.sink.lag();
    }
    try {
      return GroupProgress.of(
              admin,
              topics.embeddings(pipeline.modelId()),
              pipeline.sinkGroup,
              Duration.ofMillis(ADMIN_TIMEOUT_MS))
          .lag();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    } catch (Exception e) {
      return -1;
    }
  }

  /** Every registered model, the active one first. */
  @Override
  public List<ModelStatus> models() {
    List<ModelStatus> out = new ArrayList<>();
    for (String modelId : pipelines.keySet()) {
      try {
        out.add(status(modelId));
      } catch (ModelLifecycleException e) {
        // dropped meanwhile
      }
    }
    out.sort(
        Comparator.comparing((ModelStatus s) -> !ModelStatus.ACTIVE.equals(s.state()))
            .thenComparing(s -> s.createdAt() == null ? "" : s.createdAt()));
    return out;
  }

  public ModelStatus status(String modelId) {
    Progress progress = progress(modelId);
    ModelRegistry.Entry entry = models.get(modelId).orElse(pipeline(modelId).entry);
    return new ModelStatus(
        modelId,
        entry.name(),
        entry.url(),
        entry.dimension(),
        progress.vectors(),
        progress.lag(),
        progress.state(),
        entry.createdAt(),
        progress.reason());
  }

  private String state(String modelId, boolean caughtUp) {
    ActiveModel now = active.get();
    if (now != null && now.modelId().equals(modelId)) {
      return ModelStatus.ACTIVE;
    }
    ModelRegistry.Entry entry = models.get(modelId).orElse(null);
    if (entry != null && entry.refused() != null) {
      return ModelStatus.REFUSED;
    }
    boolean once = entry != null && entry.caughtUpAt() != null;
    return caughtUp || once ? ModelStatus.READY : ModelStatus.CATCHING_UP;
  }

  /**
   * The model's gauges: {@code lookalike.pipeline.lag} (records left to embed or index, NaN when
   * unknown), {@code lookalike.model.active} and {@code lookalike.model.refused} (1 or 0). Read on
   * each scrape; removed by {@link #drop}.
   */
  private void registerGauges(String modelId) {
    Gauge.builder(
            "lookalike.pipeline.lag",
            this,
            p -> {
              try {
                long lag = p.progress(modelId).lag();
                return lag < 0 ? Double.NaN : lag;
              } catch (ModelLifecycleException e) {
                return Double.NaN;
              }
            })
        .tag("model", modelId)
        .description("Records of product-images left to embed or index for the model")
        .register(registry);
    Gauge.builder(
            "lookalike.model.active",
            this,
            p -> {
              ActiveModel now = p.active.get();
              return now != null && now.modelId().equals(modelId) ? 1 : 0;
            })
        .tag("model", modelId)
        .description("1 for the model searches use, else 0")
        .register(registry);
    Gauge.builder(
            "lookalike.model.refused",
            this,
            p -> p.models.get(modelId).map(e -> e.refused() != null ? 1 : 0).orElse(0))
        .tag("model", modelId)
        .description("1 for a model refused by the quality gate or broken on its first batch")
        .register(registry);
  }

  /** The model's index, opened without its embedder app and sink (a refused model). */
  private Pipeline openStopped(ModelRegistry.Entry entry, DjlEmbedder embedder) {
    LuceneVectorStore store =
        LuceneVectorStore.open(
            indexDir(entry.modelId()), entry.modelId(), embedder.model().dimension());
    return new Pipeline(entry, embedder, store, null, null);
  }

  private Pipeline startPipeline(ModelRegistry.Entry entry, DjlEmbedder embedder) {
    String modelId = entry.modelId();
    // A model whose first batch is all NaN or zeros stops at once, with the reason, instead of
    // dead-lettering the whole replay; not from the embedding thread, which close() waits for.
    embedder.onBroken(
        reason ->
            CompletableFuture.runAsync(
                () -> {
                  try {
                    refuse(modelId, BROKEN + reason, false);
                  } catch (RuntimeException e) {
                    log.debug("Model {} is gone before it could be refused", modelId, e);
                  }
                }));
    LuceneVectorStore store = null;
    EmbedderApp app = null;
    try {
      TopicAdmin.ensureTopics(admin, topics, partitions, (short) 1, modelId);
      store = LuceneVectorStore.open(indexDir(modelId), modelId, embedder.model().dimension());
      app = new EmbedderApp(new HashMap<>(stageConfig), embedder, registry);
      app.start();
      EmbeddingSink sink =
          new EmbeddingSink(new HashMap<>(stageConfig), store, registry, liveSince(entry));
      sink.start();
      return new Pipeline(entry, embedder, store, app, sink);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      new Pipeline(entry, embedder, store, app, null).close();
      throw new IllegalStateException("Interrupted while starting the pipeline of " + modelId, e);
    } catch (RuntimeException e) {
      new Pipeline(entry, embedder, store, app, null).close();
      throw e;
    }
  }

  /** When the model was registered: changes before it are its replay, not freshness. */
  private static Instant liveSince(ModelRegistry.Entry entry) {
    try {
      return entry.createdAt() == null ? null : Instant.parse(entry.createdAt());
    } catch (java.time.format.DateTimeParseException e) {
      return null;
    }
  }

  private Path indexDir(String modelId) {
    return dataDir.resolve("index").resolve(modelId);
  }

  /** The sink's consumer group when the settings name none. */
  static String defaultSinkGroup(String modelId) {
    return "lookalike-indexer-" + modelId;
  }

  /** The embedder app's application.id, which is also its consumer group. */
  static String embedderGroup(String modelId) {
    return "lookalike-embedder-" + modelId;
  }

  /**
   * How much of {@code topic} the consumer group {@code group} has read: {done, total} records
   * (every version and tombstone) from its committed offsets and the topic's start and end offsets.
   */
  static long[] replayed(Admin admin, String topic, String group) throws Exception {
    GroupProgress progress =
        GroupProgress.of(admin, topic, group, Duration.ofMillis(ADMIN_TIMEOUT_MS));
    return new long[] {progress.done(), progress.total()};
  }

  private static long doneOr0(long done) {
    return Math.max(0, done);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot delete " + dir, e);
    }
  }

  @Override
  public synchronized void close() {
    for (Pipeline pipeline : pipelines.values()) {
      pipeline.close();
    }
    pipelines.clear();
    admin.close();
  }
}
