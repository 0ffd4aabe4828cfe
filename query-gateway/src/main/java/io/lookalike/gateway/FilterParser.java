package io.lookalike.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.lookalike.schemas.ProductAvailability;
import io.lookalike.store.SearchFilter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Reads a search's filters from request parameters or a JSON {@code filters} object, and refuses
 * what it does not know: an unknown key, a value that is not a number, an availability outside
 * {@link ProductAvailability}'s vocabulary or a price range that is empty are 400 {@code
 * bad_filter}, naming the key and the allowed keys or values, instead of quietly returning
 * unfiltered or no results.
 */
final class FilterParser {

  static final String BAD_FILTER = "bad_filter";

  /** The filter keys, in the order messages list them. */
  static final List<String> FILTER_KEYS =
      List.of("category", "brand", "minPrice", "maxPrice", "availability");

  /**
   * Request parameters besides the filters that a query-string or form search may carry. {@code
   * crop} (a region of the photo) is listed so that it is never mistaken for a filter.
   */
  static final List<String> OTHER_PARAMS =
      List.of(
          "k",
          "q",
          "imageWeight",
          "textWeight",
          "crop",
          "localize",
          "regions",
          "minScore",
          "facets",
          "image",
          "consistentWith",
          "consistentWithinMs");

  /** Keys of a JSON search body besides {@code filters}. */
  static final List<String> JSON_KEYS =
      List.of(
          "imageUrl",
          "productId",
          "vector",
          "k",
          "q",
          "filters",
          "boosts",
          "imageWeight",
          "textWeight",
          "crop",
          "localize",
          "regions",
          "minScore",
          "facets");

  /** Parameters that start with this prefix are boosts (see {@link Boosts}). */
  static final String BOOST_PREFIX = "boost.";

  private FilterParser() {}

  /**
   * Refuses any name of a query-string or form search that is neither a filter, a known parameter
   * nor a boost.
   */
  static void checkParamNames(Collection<String> names) {
    for (String name : names) {
      if (!FILTER_KEYS.contains(name)
          && !OTHER_PARAMS.contains(name)
          && !name.startsWith(BOOST_PREFIX)) {
        throw new SearchException(
            ErrorCode.BAD_FILTER,
            "unknown parameter '"
                + name
                + "': filters are "
                + String.join(", ", FILTER_KEYS)
                + "; other parameters are "
                + String.join(", ", OTHER_PARAMS)
                + " and boost.*");
      }
    }
  }

  /** Refuses a JSON search body key that is not one of {@link #JSON_KEYS}. */
  static void checkJsonKeys(JsonNode body) {
    body.fieldNames()
        .forEachRemaining(
            name -> {
              if (!JSON_KEYS.contains(name)) {
                throw new SearchException(
                    ErrorCode.BAD_REQUEST,
                    "unknown field '"
                        + name
                        + "': a search body has "
                        + String.join(", ", JSON_KEYS));
              }
            });
  }

  /**
   * The filter of a query-string or form search (multi-valued keys repeated or comma-separated).
   */
  static SearchFilter fromParams(Function<String, List<String>> params) {
    Set<String> availability = new LinkedHashSet<>();
    for (String value : values(params.apply("availability"))) {
      availability.add(
          ProductAvailability.parse(value)
              .orElseThrow(
                  () ->
                      new SearchException(
                          ErrorCode.BAD_FILTER,
                          "availability '"
                              + value
                              + "' is not one of "
                              + String.join(", ", ProductAvailability.ORDERED)
                              + " (any case; spaces or hyphens instead of underscores are fine)")));
    }
    Double min = number(params, "minPrice");
    Double max = number(params, "maxPrice");
    if (min != null && max != null && min > max) {
      throw new SearchException(
          ErrorCode.BAD_FILTER, "minPrice (" + min + ") is above maxPrice (" + max + ")");
    }
    return new SearchFilter(
        values(params.apply("category")), values(params.apply("brand")), min, max, availability);
  }

  /** The filter of a JSON search's {@code filters} object. */
  static SearchFilter fromJson(JsonNode filters) {
    if (!filters.isObject()) {
      throw new SearchException(
          ErrorCode.BAD_FILTER,
          "filters must be a JSON object with keys " + String.join(", ", FILTER_KEYS));
    }
    Set<String> unknown = new TreeSet<>();
    filters
        .fieldNames()
        .forEachRemaining(
            name -> {
              if (!FILTER_KEYS.contains(name)) {
                unknown.add(name);
              }
            });
    if (!unknown.isEmpty()) {
      throw new SearchException(
          ErrorCode.BAD_FILTER,
          "unknown filter "
              + unknown.stream().map(n -> "'" + n + "'").collect(Collectors.joining(", "))
              + ": filters are "
              + String.join(", ", FILTER_KEYS));
    }
    return fromParams(
        name -> {
          JsonNode node = filters.get(name);
          if (node == null || node.isNull()) {
            return List.of();
          }
          List<String> out = new ArrayList<>();
          if (node.isArray()) {
            node.forEach(v -> out.add(v.asText()));
          } else if (node.isValueNode()) {
            out.add(node.asText());
          } else {
            throw new SearchException(
                ErrorCode.BAD_FILTER, "filters." + name + " must be a value or an array");
          }
          return out;
        });
  }

  /** Multi-valued parameters: repeated ({@code category=a&category=b}) or comma-separated. */
  private static Set<String> values(List<String> raw) {
    return raw.stream()
        .flatMap(v -> Arrays.stream(v.split(",")))
        .map(String::strip)
        .filter(v -> !v.isEmpty())
        .collect(Collectors.toCollection(LinkedHashSet::new));
  }

  private static Double number(Function<String, List<String>> params, String name) {
    List<String> values = params.apply(name);
    if (values.isEmpty() || values.get(0).isBlank()) {
      return null;
    }
    try {
      double value = Double.parseDouble(values.get(0).strip());
      if (!Double.isFinite(value)) {
        throw new NumberFormatException();
      }
      return value;
    } catch (NumberFormatException e) {
      throw new SearchException(
          ErrorCode.BAD_FILTER, name + " must be a number, got '" + values.get(0) + "'");
    }
  }
}
