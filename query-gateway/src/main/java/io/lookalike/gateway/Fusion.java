package io.lookalike.gateway;

import io.lookalike.store.SearchHit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reciprocal-rank fusion (Cormack et al. 2009) of a visual and a lexical ranking of products: each
 * product scores {@code wImage / (60 + rankImage) + wText / (60 + rankText)} (ranks from 1), scaled
 * so that first in both is 1. Ranks, not scores, are fused, because cosine similarity and BM25 are
 * on unrelated scales.
 *
 * <p>Both rankings cover the union of the two candidate lists: a text match that the visual search
 * did not retrieve still gets its visual rank from its own vector's cosine to the query, and text
 * matches of (nearly) equal BM25 (all products of the asked brand, say) are ordered by how much
 * they look like the photo. So "like this, but Northwind" puts the Northwind products that look
 * like the photo first, not every Northwind product.
 */
final class Fusion {

  static final int K = 60;

  /** Text scores are compared in tiers of a tenth of the best one. */
  static final int TEXT_TIERS = 10;

  private Fusion() {}

  static List<SearchHit> reciprocalRank(
      float[] query,
      List<SearchHit> visual,
      List<SearchHit> lexical,
      double imageWeight,
      double textWeight) {
    double total = imageWeight + textWeight;
    if (total <= 0) {
      throw SearchException.badRequest("imageWeight and textWeight must not both be 0");
    }
    // The visual list's image is kept for a product in both: it is the one that looks like the
    // photo.
    Map<String, SearchHit> union = new LinkedHashMap<>();
    Map<String, Double> cosine = new HashMap<>();
    for (SearchHit hit : visual) {
      union.putIfAbsent(hit.image().productId(), hit);
      cosine.putIfAbsent(hit.image().productId(), (double) hit.score());
    }
    Map<String, Float> bm25 = new HashMap<>();
    for (SearchHit hit : lexical) {
      String id = hit.image().productId();
      bm25.putIfAbsent(id, hit.score());
      if (union.putIfAbsent(id, hit) == null) {
        cosine.put(id, dot(query, hit.image().vector()));
      }
    }
    List<String> byLooks = new ArrayList<>(union.keySet());
    byLooks.sort(Comparator.comparingDouble((String id) -> cosine.get(id)).reversed());
    // BM25 differs by a hair between products that match the words equally well (a longer title,
    // say):
    // scores within a tenth of the best one's are one tier, ordered by looks within it.
    float top = bm25.values().stream().max(Float::compare).orElse(1f);
    Map<String, Long> tier = new HashMap<>();
    bm25.forEach(
        (id, score) -> tier.put(id, (long) Math.round(TEXT_TIERS * score / (top > 0 ? top : 1f))));
    List<String> byText = new ArrayList<>(bm25.keySet());
    byText.sort(
        Comparator.comparingLong((String id) -> tier.get(id))
            .reversed()
            .thenComparing(Comparator.comparingDouble((String id) -> cosine.get(id)).reversed()));
    Map<String, Double> scores = new HashMap<>();
    for (int i = 0; i < byLooks.size(); i++) {
      scores.merge(byLooks.get(i), imageWeight / (K + i + 1), Double::sum);
    }
    for (int i = 0; i < byText.size(); i++) {
      scores.merge(byText.get(i), textWeight / (K + i + 1), Double::sum);
    }
    double best = total / (K + 1);
    List<SearchHit> fused = new ArrayList<>();
    for (String id : byLooks) {
      fused.add(new SearchHit(union.get(id).image(), (float) (scores.get(id) / best)));
    }
    // Stable: equal fused scores keep the visual order.
    fused.sort((a, b) -> Float.compare(b.score(), a.score()));
    return fused;
  }

  private static double dot(float[] a, float[] b) {
    if (a == null || b == null || a.length != b.length) {
      return -1;
    }
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += (double) a[i] * b[i];
    }
    return sum;
  }
}
