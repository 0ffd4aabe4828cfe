package io.lookalike.schemas;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The one availability vocabulary of {@link ProductMetadata#getAvailability()}, used alike by the
 * feed, the webhook, the Kafka path (the indexer) and the query gateway's filters.
 *
 * <p>Accepted spellings of each canonical value: any case, with spaces, hyphens or underscores,
 * camel case, and schema.org's URLs, e.g. {@code in-stock}, {@code in stock}, {@code InStock},
 * {@code https://schema.org/InStock} all parse as {@code IN_STOCK}; {@code PreOrder}/{@code
 * pre-order} as {@code PREORDER}.
 */
public final class ProductAvailability {

  public static final String IN_STOCK = "IN_STOCK";
  public static final String UNKNOWN = "UNKNOWN";

  /** The canonical values, in the order they are listed in messages. */
  public static final List<String> ORDERED =
      List.of(IN_STOCK, "OUT_OF_STOCK", "PREORDER", "BACKORDER", "DISCONTINUED", UNKNOWN);

  public static final Set<String> VALUES = Set.copyOf(ORDERED);

  private static final Map<String, String> ALIASES =
      Map.of(
          "PRE_ORDER", "PREORDER",
          "BACK_ORDER", "BACKORDER",
          "INSTOCK", IN_STOCK,
          "OUTOFSTOCK", "OUT_OF_STOCK",
          "SOLD_OUT", "OUT_OF_STOCK");

  private ProductAvailability() {}

  /** "in stock", "In-Stock", "InStock" → "IN_STOCK"; throws for a value outside {@link #VALUES}. */
  public static String normalise(String value) {
    return parse(value)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "unknown availability '" + value + "', expected one of " + ORDERED));
  }

  /** The canonical value of {@code value}, or empty when it is null or not an availability. */
  public static Optional<String> parse(String value) {
    if (value == null) {
      return Optional.empty();
    }
    String v = value.strip();
    int slash = v.lastIndexOf('/');
    if (slash >= 0 && v.toLowerCase(Locale.ROOT).contains("schema.org")) {
      v = v.substring(slash + 1);
    }
    // Camel case (schema.org's InStock) gets its word breaks before the case is folded.
    v = v.replaceAll("([a-z])([A-Z])", "$1_$2");
    String canonical = v.toUpperCase(Locale.ROOT).replaceAll("[\\s\\-_]+", "_");
    canonical = ALIASES.getOrDefault(canonical, canonical);
    return VALUES.contains(canonical) ? Optional.of(canonical) : Optional.empty();
  }
}
