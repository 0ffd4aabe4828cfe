package io.lookalike.gateway;

import io.lookalike.store.SearchFilter;
import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * A per-index close-match threshold, from the index alone: for a sample of indexed images, the
 * score of the nearest image of another product; the threshold is the {@link #QUANTILE} of those
 * scores, i.e. a query whose best result scores above it is closer to that product than nearly all
 * of the catalog's own products are to their nearest other product. What {@code minScore=auto} and
 * {@code closeMatch} use. Cached per store and recomputed when its size changes by a fifth.
 */
final class ScoreCalibration {

  /** Indexed images sampled. */
  static final int SAMPLE = 200;

  /**
   * Quantile of the nearest-other-product scores taken as the threshold (RelevanceBench prints the
   * share of right, wrong and off-catalogue queries above each quantile; see docs/benchmarks.md).
   */
  static final double QUANTILE = 0.95;

  /** An index's threshold and what it was computed from. */
  record Calibration(double threshold, int sampled, long count) {}

  private final Map<VectorStore, Calibration> cache =
      Collections.synchronizedMap(new WeakHashMap<>());

  /** The calibration of this store, computed on first use (about {@link #SAMPLE} searches). */
  Calibration of(VectorStore store) {
    long count = store.count();
    Calibration known = cache.get(store);
    if (known != null && Math.abs(count - known.count()) * 5 <= Math.max(1, known.count())) {
      return known;
    }
    List<StoredImage> sample;
    try {
      sample = store.sample(SAMPLE);
    } catch (UnsupportedOperationException e) {
      throw SearchException.badRequest(
          "minScore=auto needs an index that can be sampled for its calibration ("
              + e.getMessage()
              + "); give a number instead");
    }
    List<Double> scores = new ArrayList<>();
    for (StoredImage image : sample) {
      // 8 neighbours: enough to step past the other photos of the sampled photo's own product
      for (SearchHit hit : store.search(image.vector(), 8, SearchFilter.NONE)) {
        if (!hit.image().productId().equals(image.productId())) {
          scores.add((double) hit.score());
          break;
        }
      }
    }
    if (scores.isEmpty()) {
      throw SearchException.badRequest(
          "minScore=auto needs an index of at least two products to calibrate on; give a number");
    }
    double[] sorted = scores.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    Calibration fresh = new Calibration(quantile(sorted, QUANTILE), sorted.length, count);
    cache.put(store, fresh);
    return fresh;
  }

  static double quantile(double[] sorted, double q) {
    double pos = q * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  }

  @Override
  public String toString() {
    return "ScoreCalibration" + Arrays.toString(cache.values().toArray());
  }
}
