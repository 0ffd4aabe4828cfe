package io.lookalike.gateway;

import io.lookalike.image.Region;
import io.lookalike.store.SearchFilter;

/**
 * What a search asks besides its query photo, URL, product or vector: how many products, the
 * filter, an optional text {@code q} fused with the visual ranking, the fusion weights (null: the
 * gateway's defaults) and the boosts; {@code strongReads}: read the index at strong consistency (a
 * search with consistentWith, which must see the writes it waited for); {@code crop}: the region of
 * the query photo to search (null: all of it; photo and image-URL searches only).
 */
public record SearchRequest(
    Integer k,
    SearchFilter filter,
    String text,
    Double imageWeight,
    Double textWeight,
    Boosts boosts,
    boolean strongReads,
    Region crop,
    boolean localize,
    boolean regions,
    String minScore,
    boolean facets) {

  public SearchRequest(
      Integer k,
      SearchFilter filter,
      String text,
      Double imageWeight,
      Double textWeight,
      Boosts boosts,
      boolean strongReads,
      Region crop) {
    this(
        k,
        filter,
        text,
        imageWeight,
        textWeight,
        boosts,
        strongReads,
        crop,
        false,
        false,
        null,
        true);
  }

  public SearchRequest(
      Integer k,
      SearchFilter filter,
      String text,
      Double imageWeight,
      Double textWeight,
      Boosts boosts,
      boolean strongReads) {
    this(k, filter, text, imageWeight, textWeight, boosts, strongReads, null);
  }

  public SearchRequest(
      Integer k,
      SearchFilter filter,
      String text,
      Double imageWeight,
      Double textWeight,
      Boosts boosts) {
    this(k, filter, text, imageWeight, textWeight, boosts, false);
  }

  /** The same request, read at strong consistency. */
  public SearchRequest withStrongReads() {
    return new SearchRequest(
        k,
        filter,
        text,
        imageWeight,
        textWeight,
        boosts,
        true,
        crop,
        localize,
        regions,
        minScore,
        facets);
  }

  public static SearchRequest of(Integer k, SearchFilter filter) {
    return new SearchRequest(k, filter, null, null, null, Boosts.NONE);
  }
}
