package io.lookalike.gateway;

import io.lookalike.store.SearchFilter;

/**
 * What a search asks besides its query photo, URL, product or vector: how many products, the
 * filter, an optional text {@code q} fused with the visual ranking, the fusion weights (null: the
 * gateway's defaults) and the boosts.
 */
public record SearchRequest(
    Integer k,
    SearchFilter filter,
    String text,
    Double imageWeight,
    Double textWeight,
    Boosts boosts) {

  public static SearchRequest of(Integer k, SearchFilter filter) {
    return new SearchRequest(k, filter, null, null, null, Boosts.NONE);
  }
}
