package io.lookalike.gateway;

import io.lookalike.embedder.Embedder;
import io.lookalike.embedder.EmbeddingResult;
import io.lookalike.indexer.SearchFilter;
import io.lookalike.indexer.SearchHit;
import io.lookalike.indexer.StoredImage;
import io.lookalike.indexer.VectorStore;
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

  private final Embedder embedder;
  private final Supplier<VectorStore> activeStore;
  private final PhotoValidator validator;
  private final UrlFetcher fetcher;
  private final int defaultK;
  private final int maxK;

  /**
   * @param activeStore the index to search; read once per request, so it can be swapped atomically
   *     (blue/green) while searches run
   */
  public SearchService(Embedder embedder, Supplier<VectorStore> activeStore, PhotoValidator validator,
      UrlFetcher fetcher, int defaultK, int maxK) {
    if (defaultK < 1 || defaultK > maxK) {
      throw new IllegalArgumentException("need 1 <= defaultK <= maxK, got " + defaultK + " and " + maxK);
    }
    this.embedder = embedder;
    this.activeStore = activeStore;
    this.validator = validator;
    this.fetcher = fetcher;
    this.defaultK = defaultK;
    this.maxK = maxK;
  }

  public SearchService(Embedder embedder, Supplier<VectorStore> activeStore, PhotoValidator validator,
      UrlFetcher fetcher, GatewayConfig config) {
    this(embedder, activeStore, validator, fetcher, config.getInt(GatewayConfig.SEARCH_K_DEFAULT_CONFIG),
        config.getInt(GatewayConfig.SEARCH_K_MAX_CONFIG));
  }

  /** The model queries are embedded with. */
  public String modelId() {
    return embedder.model().modelId();
  }

  /** The index searches go to now. */
  public VectorStore activeStore() {
    return activeStore.get();
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
    VectorStore store = checkedStore();
    int n = checkK(k);
    float[] query = embed(validator.validate(photo));
    return respond("photo", store, start, nearestProducts(store, query, n, filter, Set.of()));
  }

  /** Downloads the image, then as {@link #byPhoto}. */
  public SearchResponse byUrl(String url, Integer k, SearchFilter filter) {
    long start = System.nanoTime();
    VectorStore store = checkedStore();
    int n = checkK(k);
    if (url == null || url.isBlank()) {
      throw SearchException.badRequest("imageUrl is empty");
    }
    float[] query = embed(validator.validate(fetcher.fetch(url.strip())));
    return respond("url", store, start, nearestProducts(store, query, n, filter, Set.of()));
  }

  /** Products that look like this one (its main image), the product itself excluded. */
  public SearchResponse byProduct(String productId, Integer k, SearchFilter filter) {
    long start = System.nanoTime();
    VectorStore store = checkedStore();
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
    VectorStore store = checkedStore();
    int n = checkK(k);
    float[] query = normalised(vector, store.dimension());
    return respond("vector", store, start, nearestProducts(store, query, n, filter, Set.of()));
  }

  private VectorStore checkedStore() {
    VectorStore store = activeStore.get();
    if (store == null) {
      throw new SearchException(503, "no_index", "no index is active yet");
    }
    String queryModel = embedder.model().modelId();
    if (!queryModel.equals(store.modelId())) {
      // Invariant 4: vectors of different models are never compared.
      throw new SearchException(409, "model_mismatch", "the active index holds vectors of model "
          + store.modelId() + " but queries are embedded with " + queryModel);
    }
    return store;
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

  private float[] embed(byte[] photo) {
    EmbeddingResult result = embedder.embed(List.of(photo)).get(0);
    if (result instanceof EmbeddingResult.Vector vector) {
      return vector.values();
    }
    EmbeddingResult.Failed failed = (EmbeddingResult.Failed) result;
    throw new SearchException(400, "corrupt_image", "the image could not be read: " + failed.reason(),
        failed.cause());
  }

  static float[] normalised(float[] vector, int dimension) {
    if (vector == null || vector.length != dimension) {
      throw new SearchException(400, "bad_vector", "vector must have " + dimension + " dimensions, got "
          + (vector == null ? 0 : vector.length));
    }
    double sum = 0;
    for (float v : vector) {
      if (!Float.isFinite(v)) {
        throw new SearchException(400, "bad_vector", "vector values must be finite numbers");
      }
      sum += (double) v * v;
    }
    if (sum == 0) {
      throw new SearchException(400, "bad_vector", "vector must not be all zeros");
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
