package io.lookalike.gateway;

import io.lookalike.image.Region;
import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.model.GarmentLocator;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Answers similarity searches by photo, image URL, product id or raw vector against the active
 * index, grouped by product. Thread-safe.
 */
public class SearchService implements AutoCloseable {

  /**
   * How many image hits to ask the store for per wanted product at first, so that grouping still
   * fills k when a product has a few similar photos; asked again with more when it does not. Each
   * hit is a wider HNSW search and a stored document read, so it is kept small.
   */
  static final int HITS_PER_PRODUCT = 2;

  private static final int MAX_HITS = 2000;

  /** Products retrieved before boosts re-rank and the facets count: at least this many, or k. */
  static final int MIN_POOL = 50;

  private final Supplier<ActiveModel> active;
  private final PhotoValidator validator;
  private final UrlFetcher fetcher;
  private final int defaultK;
  private final int maxK;
  private final Map<String, String> defaultBoosts;
  private final double imageWeight;
  private final double textWeight;

  /** Batches concurrent query embeddings; null: each request embeds its photo alone. */
  private final EmbedBatcher batcher;

  /** Shadow traffic's settings (share, threads, queue); null: set by the plain constructor. */
  private final GatewayConfig config;

  /** Mirrors a share of live searches to candidate models; null until {@link #mirrorTo}. */
  private volatile ShadowTraffic shadow;

  private volatile io.micrometer.core.instrument.MeterRegistry registry;

  /** Regions found with regions=true, at most. */
  static final int MAX_REGIONS = 4;

  /** Finds the garment for localize and regions; loaded on the first such search. */
  private volatile GarmentLocator locator;

  private final ScoreCalibration calibration = new ScoreCalibration();

  /**
   * @param active the model to embed queries with and the index of its vectors; read once per
   *     request, so it can be swapped atomically (blue/green) while searches run; null while none
   *     is active
   */
  public SearchService(
      Supplier<ActiveModel> active,
      PhotoValidator validator,
      UrlFetcher fetcher,
      int defaultK,
      int maxK) {
    if (defaultK < 1 || defaultK > maxK) {
      throw new IllegalArgumentException(
          "need 1 <= defaultK <= maxK, got " + defaultK + " and " + maxK);
    }
    this.active = active;
    this.validator = validator;
    this.fetcher = fetcher;
    this.defaultK = defaultK;
    this.maxK = maxK;
    this.defaultBoosts = Map.of();
    this.imageWeight = 1;
    this.textWeight = 1;
    this.batcher = null;
    this.config = null;
  }

  /**
   * With k limits from {@code config}, and image URL downloads within {@code
   * gateway.fetch.budget.ms}.
   */
  public SearchService(
      Supplier<ActiveModel> active,
      PhotoValidator validator,
      UrlFetcher fetcher,
      GatewayConfig config) {
    int k = config.getInt(GatewayConfig.SEARCH_K_DEFAULT_CONFIG);
    int max = config.getInt(GatewayConfig.SEARCH_K_MAX_CONFIG);
    if (k < 1 || k > max) {
      throw new IllegalArgumentException("need 1 <= defaultK <= maxK, got " + k + " and " + max);
    }
    this.active = active;
    this.validator = validator;
    this.fetcher = new BudgetedUrlFetcher(fetcher, config.fetchBudgetMs());
    this.defaultK = k;
    this.maxK = max;
    this.defaultBoosts = config.defaultBoosts();
    this.imageWeight = config.getDouble(GatewayConfig.SEARCH_IMAGE_WEIGHT_CONFIG);
    this.textWeight = config.getDouble(GatewayConfig.SEARCH_TEXT_WEIGHT_CONFIG);
    this.batcher = EmbedBatcher.from(config);
    this.config = config;
  }

  /**
   * Mirrors {@code gateway.shadow.share} of the live searches by photo, image URL and product to
   * the candidate models (see {@link ShadowTraffic}); nothing when the share is 0.
   */
  public synchronized SearchService mirrorTo(ShadowCandidates candidates) {
    GatewayConfig settings = config == null ? new GatewayConfig(Map.of()) : config;
    if (settings.getDouble(GatewayConfig.SHADOW_SHARE_CONFIG) <= 0) {
      return this;
    }
    ShadowTraffic traffic = ShadowTraffic.from(settings, candidates);
    if (registry != null) {
      traffic.bindTo(registry);
    }
    ShadowTraffic previous = shadow;
    shadow = traffic;
    if (previous != null) {
      previous.close();
    }
    return this;
  }

  /** Shadow traffic, or null when off. */
  public ShadowTraffic shadow() {
    return shadow;
  }

  /** Exports the query-embedding batcher's (when batching is on) and shadow traffic's metrics. */
  public synchronized void bindMetrics(io.micrometer.core.instrument.MeterRegistry registry) {
    this.registry = registry;
    if (batcher != null) {
      batcher.bindTo(registry);
    }
    if (shadow != null) {
      shadow.bindTo(registry);
    }
  }

  /**
   * Stops the query-embedding batcher (photo searches still waiting fail with 503) and shadow
   * traffic.
   */
  @Override
  public void close() {
    if (batcher != null) {
      batcher.close();
    }
    ShadowTraffic traffic = shadow;
    if (traffic != null) {
      traffic.close();
    }
    synchronized (this) {
      if (locator != null) {
        locator.close();
        locator = null;
      }
    }
  }

  /** The gateway's default boosts by kind, which a request's own replace. */
  public Map<String, String> defaultBoosts() {
    return defaultBoosts;
  }

  /** The model and index searches use now; null while none is active. */
  public ActiveModel active() {
    return active.get();
  }

  /** The model queries are embedded with now; null while none is active. */
  public String modelId() {
    ActiveModel now = active.get();
    return now == null ? null : now.modelId();
  }

  /** The index searches go to now; null while none is active. */
  public VectorStore activeStore() {
    ActiveModel now = active.get();
    return now == null ? null : now.store();
  }

  public int defaultK() {
    return defaultK;
  }

  public int maxK() {
    return maxK;
  }

  /**
   * Products that look like this photo (JPEG, PNG or WebP bytes). {@code k} null means the default.
   */
  public SearchResponse byPhoto(byte[] photo, Integer k, SearchFilter filter) {
    return byPhoto(photo, SearchRequest.of(k, filter));
  }

  /** Products that look like this photo, with the request's text, weights and boosts. */
  public SearchResponse byPhoto(byte[] photo, SearchRequest request) {
    long start = System.nanoTime();
    ActiveModel model = checkedModel();
    int n = checkK(request.k());
    return photoSearch("photo", model, photo, n, request, start);
  }

  /**
   * A photo's search: its crop, then with localize the garment found in it, embedded and searched;
   * with regions, each region found searched too; minScore applied last.
   */
  private SearchResponse photoSearch(
      String by, ActiveModel model, byte[] photo, int n, SearchRequest request, long start) {
    byte[] valid = validator.validate(photo, request.crop());
    Region searched = request.crop();
    byte[] query = valid;
    if (request.localize()) {
      Region found = locator().locate(valid);
      if (!found.isWhole()) {
        searched = request.crop() == null ? found : found.within(request.crop());
        query = validator.validate(photo, searched);
      }
    }
    VectorStore store = store(model, request);
    SearchResponse answer =
        run(by, store, start, embed(model.embedder(), query), n, request, Set.of());
    if (searched != null) {
      answer = answer.withRegion(searched);
    }
    mirrorPhoto(by, model, answer, query, n, request);
    if (request.regions()) {
      List<SearchResponse.RegionAnswer> regions = new ArrayList<>();
      for (Region region : locator().regions(valid, MAX_REGIONS)) {
        Region whole = request.crop() == null ? region : region.within(request.crop());
        byte[] cut = region.isWhole() ? valid : validator.validate(photo, whole);
        SearchResponse one =
            run(by, store, start, embed(model.embedder(), cut), n, request, Set.of());
        if (request.minScore() != null) {
          one = one.withMinScore(minScore(store, request.minScore()), null);
        }
        regions.add(new SearchResponse.RegionAnswer(SearchResponse.Box.of(whole), one.results()));
      }
      answer = answer.withRegions(regions, (System.nanoTime() - start) / 1_000_000);
    }
    return withMinScore(store, answer, request);
  }

  /** The answer cut at the request's minScore, with closeMatch when it is auto. */
  private SearchResponse withMinScore(VectorStore store, SearchResponse answer, SearchRequest r) {
    if (r.minScore() == null) {
      return answer;
    }
    if (r.text() != null && !r.text().isBlank()) {
      throw SearchException.badRequest(
          "minScore compares cosine similarities: it does not apply to a search with a text q");
    }
    double threshold = minScore(store, r.minScore());
    Boolean close =
        "auto".equals(r.minScore())
            ? !answer.results().isEmpty() && answer.results().get(0).score() >= threshold
            : null;
    return answer.withMinScore(threshold, close);
  }

  private double minScore(VectorStore store, String minScore) {
    return "auto".equals(minScore)
        ? calibration.of(store).threshold()
        : Double.parseDouble(minScore);
  }

  /** The close-match threshold of the active index (what minScore=auto uses). */
  public ScoreCalibration.Calibration calibration() {
    return calibration.of(checkedModel().store());
  }

  private GarmentLocator locator() {
    GarmentLocator now = locator;
    if (now == null) {
      synchronized (this) {
        if (locator == null) {
          locator = GarmentLocator.loadDefault();
        }
        now = locator;
      }
    }
    return now;
  }

  /**
   * Shadow traffic of a photo search: the candidate embeds the photo with its own model, on the
   * shadow pool.
   */
  private void mirrorPhoto(
      String by,
      ActiveModel model,
      SearchResponse answer,
      byte[] photo,
      int n,
      SearchRequest request) {
    ShadowTraffic traffic = shadow;
    if (traffic != null) {
      traffic.mirror(
          model,
          answer,
          candidate -> {
            EmbeddingResult result = candidate.embedder().embed(List.of(photo)).get(0);
            if (!(result instanceof EmbeddingResult.Vector vector)) {
              throw new IllegalStateException(
                  "the candidate could not read the photo: "
                      + ((EmbeddingResult.Failed) result).reason());
            }
            return run(
                by, candidate.store(), System.nanoTime(), vector.values(), n, request, Set.of());
          });
    }
  }

  /** Downloads the image, then as {@link #byPhoto}. */
  public SearchResponse byUrl(String url, Integer k, SearchFilter filter) {
    return byUrl(url, SearchRequest.of(k, filter));
  }

  public SearchResponse byUrl(String url, SearchRequest request) {
    long start = System.nanoTime();
    ActiveModel model = checkedModel();
    int n = checkK(request.k());
    if (url == null || url.isBlank()) {
      throw SearchException.badRequest("imageUrl is empty");
    }
    // the shadow traffic gets the bytes, not the URL again
    return photoSearch("url", model, fetcher.fetch(url.strip()), n, request, start);
  }

  /** Products that look like this one (its main image), the product itself excluded. */
  public SearchResponse byProduct(String productId, Integer k, SearchFilter filter) {
    return byProduct(productId, SearchRequest.of(k, filter));
  }

  public SearchResponse byProduct(String productId, SearchRequest request) {
    long start = System.nanoTime();
    noCrop(request, "product");
    ActiveModel model = checkedModel();
    VectorStore store = store(model, request);
    int n = checkK(request.k());
    List<StoredImage> images = productId == null ? List.of() : store.imagesOf(productId);
    if (images.isEmpty()) {
      throw SearchException.notFound("unknown product: " + productId);
    }
    float[] query = images.get(0).vector();
    SearchResponse answer = run("product", store, start, query, n, request, Set.of(productId));
    ShadowTraffic traffic = shadow;
    if (traffic != null) {
      traffic.mirror(
          model,
          answer,
          candidate -> {
            // The product's vector of the candidate's own model; none yet while it catches up.
            List<StoredImage> own = candidate.store().imagesOf(productId);
            return own.isEmpty()
                ? null
                : run(
                    "product",
                    candidate.store(),
                    System.nanoTime(),
                    own.get(0).vector(),
                    n,
                    request,
                    Set.of(productId));
          });
    }
    return withMinScore(store, answer, request);
  }

  /** Products nearest to a vector of the index's model; it is L2-normalised here. */
  public SearchResponse byVector(float[] vector, Integer k, SearchFilter filter) {
    return byVector(vector, SearchRequest.of(k, filter));
  }

  public SearchResponse byVector(float[] vector, SearchRequest request) {
    long start = System.nanoTime();
    noCrop(request, "vector");
    VectorStore store = store(checkedModel(), request);
    int n = checkK(request.k());
    float[] query = normalised(vector, store.dimension());
    return withMinScore(store, run("vector", store, start, query, n, request, Set.of()), request);
  }

  /**
   * Products whose text matches {@code q} (BM25 over title, brand, category and attributes), no
   * photo.
   */
  public SearchResponse byText(SearchRequest request) {
    long start = System.nanoTime();
    noCrop(request, "text");
    VectorStore store = store(checkedModel(), request);
    int n = checkK(request.k());
    if (request.text() == null || request.text().isBlank()) {
      throw SearchException.badRequest("give a photo, imageUrl, productId, vector or a text q");
    }
    return withMinScore(store, run("text", store, start, null, n, request, Set.of()), request);
  }

  /**
   * Retrieves a pool of candidate products (visual, lexical, or both fused by reciprocal rank),
   * adds the boosts, sorts again and keeps k; the facets count the whole pool.
   */
  private SearchResponse run(
      String by,
      VectorStore store,
      long startNanos,
      float[] vector,
      int k,
      SearchRequest request,
      Set<String> excluded) {
    SearchFilter filter = request.filter() == null ? SearchFilter.NONE : request.filter();
    Boosts boosts = request.boosts() == null ? Boosts.NONE : request.boosts();
    String text = request.text() == null ? "" : request.text().strip();
    // The pool is for the facets, the boosts and the text fusion; without them k is enough, and a
    // smaller pool is a narrower HNSW search (facets=false is the fast path of widgets and APIs).
    int pool = request.facets() || !boosts.isEmpty() || !text.isEmpty() ? Math.max(k, MIN_POOL) : k;
    List<SearchHit> candidates =
        vector == null ? List.of() : nearestProducts(store, vector, pool, filter, excluded);
    if (!text.isEmpty()) {
      List<SearchHit> lexical;
      try {
        lexical =
            bestPerProduct(
                store.searchText(text, Math.min(MAX_HITS, pool * HITS_PER_PRODUCT), filter),
                pool,
                excluded);
      } catch (UnsupportedOperationException e) {
        // e.g. a Milvus collection created before full-text search: its message says what to do
        throw new SearchException(
            ErrorCode.TEXT_UNSUPPORTED,
            "this index has no text search; search by photo only"
                + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"),
            e);
      }
      candidates =
          vector == null
              ? lexical
              : Fusion.reciprocalRank(
                  vector,
                  candidates,
                  lexical,
                  weight(request.imageWeight(), imageWeight, "imageWeight"),
                  weight(request.textWeight(), textWeight, "textWeight"));
      by = vector == null ? by : by + "+text";
    }
    List<Boosts.Boosted> ranked = boosts.apply(candidates);
    List<SearchResponse.Match> results = new ArrayList<>();
    for (Boosts.Boosted b : ranked.subList(0, Math.min(k, ranked.size()))) {
      results.add(SearchResponse.Match.of(b.hit(), b.boost()));
    }
    long tookMs = (System.nanoTime() - startNanos) / 1_000_000;
    return new SearchResponse(
        by,
        store.modelId(),
        tookMs,
        results,
        request.facets() ? Facets.of(candidates) : Map.of(),
        boosts.applied());
  }

  /** A crop is a region of a query photo: a search without one refuses it rather than ignore it. */
  private static void noCrop(SearchRequest request, String by) {
    if (request.localize() || request.regions()) {
      throw SearchException.badRequest(
          "localize and regions apply to a photo or imageUrl search, not to a " + by + " search");
    }
    if (request.crop() != null) {
      throw new SearchException(
          ErrorCode.BAD_CROP,
          "crop "
              + request.crop()
              + " applies to a photo or imageUrl search, not to a "
              + by
              + " search");
    }
  }

  private static double weight(Double requested, double fallback, String name) {
    if (requested == null) {
      return fallback;
    }
    if (!Double.isFinite(requested) || requested < 0 || requested > 100) {
      throw SearchException.badRequest(name + " must be between 0 and 100, got " + requested);
    }
    return requested;
  }

  /** The model's index, at strong consistency when the request must read its own writes. */
  private static VectorStore store(ActiveModel model, SearchRequest request) {
    return request.strongReads() ? model.store().strong() : model.store();
  }

  /** The active model, read once for the whole request. */
  private ActiveModel checkedModel() {
    ActiveModel model = active.get();
    if (model == null) {
      throw new SearchException(
          ErrorCode.NO_INDEX, "no model is active yet: the index has none to search with");
    }
    VectorStore store = model.store();
    String queryModel = model.modelId();
    if (!queryModel.equals(store.modelId())) {
      // Invariant 4: vectors of different models are never compared.
      throw new SearchException(
          ErrorCode.MODEL_MISMATCH,
          "the active index holds vectors of model "
              + store.modelId()
              + " but queries are embedded with "
              + queryModel);
    }
    return model;
  }

  private int checkK(Integer k) {
    if (k == null) {
      return defaultK;
    }
    if (k < 1 || k > maxK) {
      throw SearchException.badRequest("k must be between 1 and " + maxK + ", got " + k);
    }
    return k;
  }

  private float[] embed(Embedder embedder, byte[] photo) {
    EmbeddingResult result =
        batcher == null ? embedder.embed(List.of(photo)).get(0) : batcher.embed(embedder, photo);
    if (result instanceof EmbeddingResult.Vector vector) {
      return vector.values();
    }
    EmbeddingResult.Failed failed = (EmbeddingResult.Failed) result;
    throw new SearchException(
        ErrorCode.CORRUPT_IMAGE, "the image could not be read: " + failed.reason(), failed.cause());
  }

  static float[] normalised(float[] vector, int dimension) {
    if (vector == null || vector.length != dimension) {
      throw new SearchException(
          ErrorCode.BAD_VECTOR,
          "vector must have "
              + dimension
              + " dimensions, got "
              + (vector == null ? 0 : vector.length));
    }
    double sum = 0;
    for (float v : vector) {
      if (!Float.isFinite(v)) {
        throw new SearchException(ErrorCode.BAD_VECTOR, "vector values must be finite numbers");
      }
      sum += (double) v * v;
    }
    if (sum == 0) {
      throw new SearchException(ErrorCode.BAD_VECTOR, "vector must not be all zeros");
    }
    float norm = (float) Math.sqrt(sum);
    float[] out = new float[vector.length];
    for (int i = 0; i < vector.length; i++) {
      out[i] = vector[i] / norm;
    }
    return out;
  }

  /**
   * Best hit per product, best first; asks for more hits while grouping leaves fewer than k
   * products.
   */
  static List<SearchHit> nearestProducts(
      VectorStore store, float[] query, int k, SearchFilter filter, Set<String> excluded) {
    SearchFilter f = filter == null ? SearchFilter.NONE : filter;
    int ask = Math.min(MAX_HITS, k * HITS_PER_PRODUCT + excluded.size() * HITS_PER_PRODUCT);
    while (true) {
      List<SearchHit> hits = store.search(query, ask, f);
      List<SearchHit> best = bestPerProduct(hits, k, excluded);
      if (best.size() >= k || hits.size() < ask || ask >= MAX_HITS) {
        return best;
      }
      ask = Math.min(MAX_HITS, ask * 4);
    }
  }

  /** The first (best) hit of each product, at most k products, the excluded ones left out. */
  static List<SearchHit> bestPerProduct(List<SearchHit> hits, int k, Set<String> excluded) {
    Map<String, SearchHit> best = new LinkedHashMap<>();
    for (SearchHit hit : hits) {
      String productId = hit.image().productId();
      if (!excluded.contains(productId) && best.size() < k) {
        best.putIfAbsent(productId, hit);
      }
    }
    return new ArrayList<>(best.values());
  }
}
