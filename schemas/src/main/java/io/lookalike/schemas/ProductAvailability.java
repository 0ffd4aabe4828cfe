package io.lookalike.schemas;

import java.util.Locale;
import java.util.Set;

/** The canonical availability values of {@link ProductMetadata#getAvailability()}. */
public final class ProductAvailability {

  public static final String UNKNOWN = "UNKNOWN";
  public static final Set<String> VALUES =
      Set.of("IN_STOCK", "OUT_OF_STOCK", "PREORDER", "BACKORDER", "DISCONTINUED", UNKNOWN);

  private ProductAvailability() {}

  /** "in stock", "In-Stock" → "IN_STOCK"; throws for a value outside {@link #VALUES}. */
  public static String normalise(String value) {
    String canonical = value.strip().toUpperCase(Locale.ROOT).replace(' ', '_').replace('-', '_');
    if (!VALUES.contains(canonical)) {
      throw new IllegalArgumentException("unknown availability '" + value + "', expected one of " + VALUES);
    }
    return canonical;
  }
}
