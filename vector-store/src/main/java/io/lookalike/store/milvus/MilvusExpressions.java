package io.lookalike.store.milvus;

import io.lookalike.store.SearchFilter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Milvus boolean expressions with every request value passed as a template parameter ({@code
 * category_key in {categories}} plus {@code filterTemplateValues}), never spliced into the text: a
 * value cannot change the shape of the expression, so no expression injection.
 */
final class MilvusExpressions {

  /** An expression and the values of its {@code {placeholders}}. */
  record Expression(String text, Map<String, Object> values) {
    static final Expression ALL = new Expression("", Map.of());
  }

  private MilvusExpressions() {}

  static Expression of(SearchFilter filter) {
    if (filter == null || filter.isEmpty()) {
      return Expression.ALL;
    }
    List<String> clauses = new ArrayList<>();
    Map<String, Object> values = new LinkedHashMap<>();
    anyOf(clauses, values, MilvusSchema.CATEGORY_KEY, "categories", filter.categories());
    anyOf(clauses, values, MilvusSchema.BRAND_KEY, "brands", filter.brands());
    anyOf(clauses, values, MilvusSchema.AVAILABILITY_KEY, "availability", filter.availability());
    if (filter.minPrice() != null) {
      clauses.add(MilvusSchema.PRICE + " >= {min_price}");
      values.put("min_price", finite("minPrice", filter.minPrice()));
    }
    if (filter.maxPrice() != null) {
      clauses.add(MilvusSchema.PRICE + " <= {max_price}");
      values.put("max_price", finite("maxPrice", filter.maxPrice()));
    }
    return new Expression(String.join(" and ", clauses), values);
  }

  static Expression keyIn(List<String> keys) {
    return new Expression(MilvusSchema.KEY + " in {keys}", Map.of("keys", List.copyOf(keys)));
  }

  static Expression productIs(String productId) {
    return new Expression(
        MilvusSchema.PRODUCT_ID + " == {product_id}", Map.of("product_id", productId));
  }

  /** How filterable strings are stored in the *_key fields and compared: trimmed, lower case. */
  static String normalise(String value) {
    return value == null ? null : value.trim().toLowerCase(Locale.ROOT);
  }

  private static void anyOf(
      List<String> clauses,
      Map<String, Object> values,
      String field,
      String name,
      Set<String> wanted) {
    if (!wanted.isEmpty()) {
      clauses.add(field + " in {" + name + "}");
      values.put(name, wanted.stream().map(MilvusExpressions::normalise).sorted().toList());
    }
  }

  private static double finite(String name, double value) {
    if (!Double.isFinite(value)) {
      throw new IllegalArgumentException(name + " must be a finite number: " + value);
    }
    return value;
  }
}
