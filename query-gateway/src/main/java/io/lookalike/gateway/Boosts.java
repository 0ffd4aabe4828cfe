package io.lookalike.gateway;

import io.lookalike.schemas.ProductAvailability;
import io.lookalike.store.SearchHit;
import io.lookalike.store.StoredImage;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Business ranking applied after retrieval: each boost adds to a product's score, then the
 * candidates are sorted again and cut to k. Three kinds, each written as a short text (the same in
 * a query string, a form, a JSON body and the gateway's config):
 *
 * <ul>
 *   <li>{@code availability}: {@code IN_STOCK:0.05,OUT_OF_STOCK:-0.1} adds the weight of the
 *       product's availability (any spelling {@link ProductAvailability} reads);
 *   <li>{@code attribute}: {@code popularity:0.1} adds weight × the product's numeric attribute
 *       scaled to [0, 1] over the candidates (min → 0, max → 1; missing or not a number → 0);
 *   <li>{@code price}: {@code 40:0.1} adds weight × max(0, 1 − |price − 40| / 40): most at the
 *       target price, nothing at twice or zero it.
 * </ul>
 *
 * <p>A request's boost replaces the default of the same kind; an empty value turns that default
 * off.
 */
public final class Boosts {

  public static final List<String> KINDS = List.of("availability", "attribute", "price");
  static final String BAD_BOOST = "bad_boost";

  /**
   * A boost that was applied, and whether it came from the request or from the gateway's defaults.
   */
  public record Applied(String kind, String spec, String source) {}

  private record Spec(
      String kind,
      String text,
      String source,
      Map<String, Double> byAvailability,
      String attribute,
      double target,
      double weight) {}

  public static final Boosts NONE = new Boosts(List.of());

  private final List<Spec> specs;

  private Boosts(List<Spec> specs) {
    this.specs = List.copyOf(specs);
  }

  /**
   * The boosts of one request: {@code request} gives the text of each kind the request set (an
   * empty text turns the default off), {@code defaults} those of the gateway's config.
   */
  static Boosts of(Map<String, String> request, Map<String, String> defaults) {
    List<Spec> specs = new ArrayList<>();
    for (String kind : KINDS) {
      String text;
      String source;
      if (request.containsKey(kind)) {
        text = request.get(kind);
        source = "request";
      } else {
        text = defaults.get(kind);
        source = "default";
      }
      if (text != null && !text.isBlank()) {
        specs.add(parse(kind, text.strip(), source));
      }
    }
    return new Boosts(specs);
  }

  /** Reads the {@code boost.<kind>} parameters; refuses an unknown kind. */
  static Map<String, String> fromParams(
      Iterable<String> names, Function<String, List<String>> params) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String name : names) {
      if (name.startsWith(FilterParser.BOOST_PREFIX)) {
        String kind = name.substring(FilterParser.BOOST_PREFIX.length());
        checkKind(kind, name);
        List<String> values = params.apply(name);
        out.put(kind, values.isEmpty() ? "" : values.get(0));
      }
    }
    return out;
  }

  static void checkKind(String kind, String name) {
    if (!KINDS.contains(kind)) {
      throw new SearchException(
          ErrorCode.BAD_BOOST,
          "unknown boost '" + name + "': boosts are " + String.join(", ", KINDS));
    }
  }

  /**
   * Checks a boost's text, e.g. for a config validator; throws IllegalArgumentException naming what
   * is wrong.
   */
  static void validate(String kind, String text) {
    try {
      if (text != null && !text.isBlank()) {
        parse(kind, text.strip(), "default");
      }
    } catch (SearchException e) {
      throw new IllegalArgumentException(e.getMessage());
    }
  }

  private static Spec parse(String kind, String text, String source) {
    return switch (kind) {
      case "availability" -> {
        Map<String, Double> weights = new LinkedHashMap<>();
        for (String part : text.split(",")) {
          String[] pair = pair(kind, part.strip(), "IN_STOCK:0.05");
          String value =
              ProductAvailability.parse(pair[0])
                  .orElseThrow(
                      () ->
                          new SearchException(
                              ErrorCode.BAD_BOOST,
                              "boost availability: '"
                                  + pair[0]
                                  + "' is not one of "
                                  + String.join(", ", ProductAvailability.ORDERED)));
          weights.put(value, weight(kind, pair[1]));
        }
        yield new Spec(kind, text, source, weights, null, 0, 0);
      }
      case "attribute" -> {
        String[] pair = pair(kind, text, "popularity:0.1");
        yield new Spec(kind, text, source, Map.of(), pair[0], 0, weight(kind, pair[1]));
      }
      default -> {
        String[] pair = pair(kind, text, "40:0.1");
        double target = weight(kind, pair[0]);
        if (target <= 0) {
          throw new SearchException(
              ErrorCode.BAD_BOOST, "boost price: the target price must be above 0, got " + pair[0]);
        }
        yield new Spec(kind, text, source, Map.of(), null, target, weight(kind, pair[1]));
      }
    };
  }

  private static String[] pair(String kind, String text, String example) {
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new SearchException(
          ErrorCode.BAD_BOOST,
          "boost " + kind + " must look like '" + example + "', got '" + text + "'");
    }
    return new String[] {text.substring(0, colon).strip(), text.substring(colon + 1).strip()};
  }

  private static double weight(String kind, String number) {
    try {
      double value = Double.parseDouble(number);
      if (!Double.isFinite(value)) {
        throw new NumberFormatException();
      }
      return value;
    } catch (NumberFormatException e) {
      throw new SearchException(
          ErrorCode.BAD_BOOST, "boost " + kind + ": '" + number + "' is not a number");
    }
  }

  boolean isEmpty() {
    return specs.isEmpty();
  }

  List<Applied> applied() {
    return specs.stream().map(s -> new Applied(s.kind(), s.text(), s.source())).toList();
  }

  /** A candidate after boosting: its hit with the boosted score, and how much the boosts added. */
  record Boosted(SearchHit hit, float boost) {}

  /** The candidates with their boosts added, best first (stable for equal scores). */
  List<Boosted> apply(List<SearchHit> candidates) {
    double[] added = new double[candidates.size()];
    for (Spec spec : specs) {
      switch (spec.kind()) {
        case "availability" -> {
          for (int i = 0; i < added.length; i++) {
            String value = candidates.get(i).image().availability();
            Double w =
                value == null
                    ? null
                    : spec.byAvailability().get(ProductAvailability.parse(value).orElse(""));
            added[i] += w == null ? 0 : w;
          }
        }
        case "attribute" -> {
          Double[] values = new Double[added.length];
          double min = Double.POSITIVE_INFINITY;
          double max = Double.NEGATIVE_INFINITY;
          for (int i = 0; i < added.length; i++) {
            values[i] = number(candidates.get(i).image(), spec.attribute());
            if (values[i] != null) {
              min = Math.min(min, values[i]);
              max = Math.max(max, values[i]);
            }
          }
          for (int i = 0; i < added.length; i++) {
            if (values[i] != null) {
              double scaled = max > min ? (values[i] - min) / (max - min) : 1;
              added[i] += spec.weight() * scaled;
            }
          }
        }
        default -> {
          for (int i = 0; i < added.length; i++) {
            Double price = candidates.get(i).image().price();
            if (price != null) {
              added[i] +=
                  spec.weight() * Math.max(0, 1 - Math.abs(price - spec.target()) / spec.target());
            }
          }
        }
      }
    }
    List<Boosted> out = new ArrayList<>(candidates.size());
    for (int i = 0; i < added.length; i++) {
      SearchHit hit = candidates.get(i);
      out.add(
          new Boosted(
              new SearchHit(hit.image(), (float) (hit.score() + added[i])), (float) added[i]));
    }
    if (!specs.isEmpty()) {
      out.sort(Comparator.comparingDouble((Boosted b) -> b.hit().score()).reversed());
    }
    return out;
  }

  private static Double number(StoredImage image, String attribute) {
    String value = image.attributes() == null ? null : image.attributes().get(attribute);
    if (value == null) {
      return null;
    }
    try {
      double d = Double.parseDouble(value.strip());
      return Double.isFinite(d) ? d : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
