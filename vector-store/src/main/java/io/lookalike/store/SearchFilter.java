package io.lookalike.store;

import java.util.Set;

/**
 * Restricts a search to images whose product matches every given condition; a null or empty field
 * means "no condition". Category, brand and availability match exactly (case-insensitive, any of
 * the set); the price range is inclusive.
 */
public record SearchFilter(
    Set<String> categories,
    Set<String> brands,
    Double minPrice,
    Double maxPrice,
    Set<String> availability) {

  public static final SearchFilter NONE =
      new SearchFilter(Set.of(), Set.of(), null, null, Set.of());

  public SearchFilter {
    categories = categories == null ? Set.of() : Set.copyOf(categories);
    brands = brands == null ? Set.of() : Set.copyOf(brands);
    availability = availability == null ? Set.of() : Set.copyOf(availability);
  }

  public boolean isEmpty() {
    return categories.isEmpty()
        && brands.isEmpty()
        && minPrice == null
        && maxPrice == null
        && availability.isEmpty();
  }
}
