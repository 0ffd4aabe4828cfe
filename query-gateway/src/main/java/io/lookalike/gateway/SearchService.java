package io.lookalike.gateway;

import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
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
import java.util.stream.Collectors;

/**
 * Answers similarity searches by photo, image URL, product id or raw vector against the active index,
 * grouped by product. Thread-safe.
 */
public class SearchService {

  /** How many image hits to ask the store for per wanted product, so that grouping still fills k. */
  static final int HITS_PER_PRODUCT = 4;
  private static final int MAX_HITS = 2000;

  private final Supplier<ActiveModel> active;
  private final PhotoValidator validator;
  private final UrlFetcher fetcher;
  private final int defaultK;
  private final int maxK;

  /**
   * @param active the model to embed queries with and the index of its vectors; read once per request,
   *     so it can be swapped atomically (blue/green) while searches run; null while none is active
   */
  public SearchService(Supplier<ActiveModel> active, PhotoValidator validator, UrlFetcher fetcher, int defaultK,
      int maxK) {
    if (defaultK < 1 || defaultK > maxK) {
      throw new IllegalArgumentException("need 1 <= defaultK <= maxK, got " + defaultK + " and " + maxK);
    }
    this.active = active;
    this.validator = validator;
    this.fetcher = fetcher;
    this.defaultK = defaultK;
    this.maxK = maxK;
  }

  /** With k limits from {@code config}, and image URL downloads within {@code gateway.fetch.budget.ms}. */
  public SearchService(Supplier<ActiveModel> active, PhotoValidator validator, UrlFetcher fetcher,
      GatewayConfig config) {
    this(active, validator, new BudgetedUrlFetcher(fetcher, config.fetchBudgetMs()),
        config.getInt(GatewayConfig.SEARCH_K_DEFAULT_CONFIG), config.getInt(GatewayConfig.SEARCH_K_MAX_CONFIG));
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

  /** Products that look like this photo (JPEG, PNG or WebP bytes). {@code k} null means the default. */
  public SearchResponse byPhoto(byte[] photo, Integer k, SearchFilter filter) {
    long start = System.nanoTime();
    ActiveModel model = checkedModel();
    VectorStore store = model.store();
    int n = checkK(k);
    float[] query = embed(model.embedder(), validator.validate(photo));
    return respond("photo", store, start, nearestProducts(store, query, n, filter, Set.of()));
  }

  /** Downloads the image, then as {@link #byPhoto}. */
  public SearchResponse byUrl(String url, Integer k, SearchFilter filter) {
    long start = System.nanoTime();
    ActiveModel model = checkedModel();
    VectorStore store = model.store();
    int n = checkK(k);
    if (url == null || url.isBlank()) {
      throw SearchException.badRequest("imageUrl is empty");
    }
    float[] query = embed(model.embedder(), validator.validate(fetcher.fetch(url.strip())));
    return respond("url", store, start, nearestProducts(store, query, n, filter, Set.of()));
  }

  /** Products that look like this one (its main image), the product itself excluded. */
  public SearchResponse byProduct(String productId, Integer k, SearchFilter filter) {
    long start = System.nanoTime();
    VectorStore store = checkedModel().store();
    int n = checkK(k);
    List<StoredImage> images = productId == null ? List.of() : store.imagesOf(productId);
    if (images.isEmpty()) {
      throw SearchException.notFound("unknown product: " + productId);
    }
    float[] query = images.get(0).vector();
    return respond("product", store, start, nearestProducts(store, query, n, filter, Set.of(productId)));
  }

  /** Products nearest to a vector of the index's model; it is L2-normalised here. */
  public SearchResponse byVector(float[] vector, Integer k, SearchFilter filter) {
    long start = System.nanoTime();
    VectorStore store = checkedModel().store();
    int n = checkK(k);
    float[] query = normalised(vector, store.dimension());
    return respond("vector", store, start, nearestProducts(store, query, n, filter, Set.of()));
  }

  /** The active model, read once for the whole request. */
  private ActiveModel checkedModel() {
    ActiveModel model = active.get();
    if (model == null) {
      throw new SearchException(ErrorCode.NO_INDEX, "no index is active yet");
    }
    VectorStore store = model.store();
    String queryModel = model.modelId();
    if (!queryModel.equals(store.modelId())) {
      // Invariant 4: vectors of different models are never compared.
      throw new SearchException(ErrorCode.MODEL_MISMATCH, "the active index holds vectors of model "
          + store.modelId() + " but queries are embedded with " + queryModel);
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

  private static float[] embed(Embedder embedder, byte[] photo) {
    EmbeddingResult result = embedder.embed(List.of(photo)).get(0);
    if (result instanceof EmbeddingResult.Vector vector) {
      return vector.values();
    }
    EmbeddingResult.Failed failed = (EmbeddingResult.Failed) result;
    throw new SearchException(ErrorCode.CORRUPT_IMAGE, "the image could not be read: " + failed.reason(),
        failed.cause());
  }

  static float[] normalised(float[] vector, int dimension) {
    if (vector == null || vector.length != dimension) {
      throw new SearchException(ErrorCode.BAD_VECTOR, "vector must have " + dimension + " dimensions, got "
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

  /** Best hit per product, best first; asks for more hits while grouping leaves fewer than k products. */
  static List<SearchHit> nearestProducts(VectorStore store, float[] query, int k, SearchFilter filter,
      Set<String> excluded) {
    SearchFilter f = filter == null ? SearchFilter.NONE : filter;
    int ask = Math.min(MAX_HITS, k * HITS_PER_PRODUCT + excluded.size() * HITS_PER_PRODUCT);
    while (true) {
      List<SearchHit> hits = store.search(query, ask, f);
      Map<String, SearchHit> best = new LinkedHashMap<>();
      for (SearchHit hit : hits) {
        String productId = hit.image().productId();
        if (!excluded.contains(productId) && best.size() < k) {
          best.putIfAbsent(productId, hit);
        }
      }
      if (best.size() >= k || hits.size() < ask || ask >= MAX_HITS) {
        return new ArrayList<>(best.values());
      }
      ask = Math.min(MAX_HITS, ask * 4);
    }
  }

  private static SearchResponse respond(String by, VectorStore store, long startNanos, List<SearchHit> hits) {
    long tookMs = (System.nanoTime() - startNanos) / 1_000_000;
    return new SearchResponse(by, store.modelId(), tookMs,
        hits.stream().map(SearchResponse.Match::of).collect(Collectors.toList()));
  }
}
