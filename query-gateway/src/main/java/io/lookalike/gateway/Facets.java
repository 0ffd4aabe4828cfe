package io.lookalike.gateway;

import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Counts of category, brand and availability over the products a search retrieved (its candidate
 * pool, filters applied, before it is cut to k), so that a page can offer the values that exist
 * instead of free text. Values are counted as the catalog spells them, most frequent first.
 */
final class Facets {

  static final List<String> NAMES = List.of("category", "brand", "availability");

  private Facets() {}

  static Map<String, Map<String, Long>> of(List<SearchHit> products) {
    Map<String, Map<String, Long>> facets = new LinkedHashMap<>();
    facets.put("category", count(products, StoredImage::category));
    facets.put("brand", count(products, StoredImage::brand));
    facets.put("availability", count(products, StoredImage::availability));
    return facets;
  }

  private static Map<String, Long> count(
      List<SearchHit> products, Function<StoredImage, String> field) {
    Map<String, Long> counts = new HashMap<>();
    for (SearchHit hit : products) {
      String value = field.apply(hit.image());
      if (value != null && !value.isBlank()) {
        counts.merge(value, 1L, Long::sum);
      }
    }
    Map<String, Long> sorted = new LinkedHashMap<>();
    counts.entrySet().stream()
        .sorted(
            Map.Entry.<String, Long>comparingByValue()
                .reversed()
                .thenComparing(Map.Entry.comparingByKey()))
        .forEach(e -> sorted.put(e.getKey(), e.getValue()));
    return sorted;
  }
}
