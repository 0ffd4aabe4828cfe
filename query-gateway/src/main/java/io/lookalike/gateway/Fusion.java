package io.lookalike.gateway;

import io.lookalike.indexer.SearchHit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reciprocal-rank fusion (Cormack et al. 2009) of a visual and a lexical ranking of products: each
 * product scores {@code wImage / (60 + rankImage) + wText / (60 + rankText)} (rank from 1; a product
 * missing from a list gets nothing from it), scaled so that first in both lists is 1. Ranks, not
 * scores, are fused, because cosine similarity and BM25 are on unrelated scales.
 */
final class Fusion {

  static final int K = 60;

  private Fusion() {}

  static List<SearchHit> reciprocalRank(List<SearchHit> visual, List<SearchHit> lexical, double imageWeight,
      double textWeight) {
    double total = imageWeight + textWeight;
    if (total <= 0) {
      throw SearchException.badRequest("imageWeight and textWeight must not both be 0");
    }
    Map<String, SearchHit> hits = new LinkedHashMap<>();
    Map<String, Double> scores = new LinkedHashMap<>();
    add(visual, imageWeight, hits, scores);
    add(lexical, textWeight, hits, scores);
    double best = total / (K + 1);
    List<SearchHit> fused = new ArrayList<>();
    scores.forEach((id, score) -> fused.add(new SearchHit(hits.get(id).image(), (float) (score / best))));
    fused.sort((a, b) -> Float.compare(b.score(), a.score()));
    return fused;
  }

  private static void add(List<SearchHit> ranking, double weight, Map<String, SearchHit> hits,
      Map<String, Double> scores) {
    for (int i = 0; i < ranking.size(); i++) {
      SearchHit hit = ranking.get(i);
      String id = hit.image().productId();
      // The visual list's image is kept for a product in both: it is the one that looks like the photo.
      hits.putIfAbsent(id, hit);
      scores.merge(id, weight / (K + i + 1), Double::sum);
    }
  }
}
