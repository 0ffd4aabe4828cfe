package io.lookalike.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.lookalike.image.Region;
import io.lookalike.store.SearchFilter;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Reads a {@link SearchRequest} from a query string or form, or from a JSON search body. */
final class SearchRequests {

  private SearchRequests() {}

  /**
   * From parameters: k, q, imageWeight, textWeight, the filters and boost.* (unknown names are
   * refused).
   */
  static SearchRequest fromParams(
      Collection<String> names,
      Function<String, List<String>> params,
      Map<String, String> defaultBoosts) {
    FilterParser.checkParamNames(names);
    SearchFilter filter = FilterParser.fromParams(params);
    Boosts boosts = Boosts.of(Boosts.fromParams(names, params), defaultBoosts);
    return new SearchRequest(
        integer(first(params, "k"), "k"),
        filter,
        first(params, "q"),
        number(first(params, "imageWeight"), "imageWeight"),
        number(first(params, "textWeight"), "textWeight"),
        boosts,
        false,
        crop(first(params, "crop")),
        flag(first(params, "localize"), "localize"),
        flag(first(params, "regions"), "regions"),
        minScore(first(params, "minScore")),
        flag(first(params, "facets"), "facets", true));
  }

  private static boolean flag(String value, String name) {
    return flag(value, name, false);
  }

  private static boolean flag(String value, String name, boolean absent) {
    if (value == null) {
      return absent;
    }
    if (value.equalsIgnoreCase("true") || value.equals("1")) {
      return true;
    }
    if (value.equalsIgnoreCase("false") || value.equals("0")) {
      return false;
    }
    throw SearchException.badRequest(name + " must be true or false, got " + value);
  }

  /** A number in -1..1 or {@code auto}; null when absent. */
  static String minScore(String value) {
    if (value == null) {
      return null;
    }
    if (value.equalsIgnoreCase("auto")) {
      return "auto";
    }
    try {
      double v = Double.parseDouble(value);
      if (Double.isFinite(v) && v >= -1 && v <= 1) {
        return Double.toString(v);
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw SearchException.badRequest(
        "minScore must be a number between -1 and 1 (a cosine similarity) or auto, got " + value);
  }

  /**
   * From a JSON body: {@code k, q, imageWeight, textWeight, filters: {...}, boosts: {kind:
   * "spec"}}.
   */
  static SearchRequest fromJson(JsonNode json, Map<String, String> defaultBoosts) {
    FilterParser.checkJsonKeys(json);
    SearchFilter filter =
        json.hasNonNull("filters") ? FilterParser.fromJson(json.get("filters")) : SearchFilter.NONE;
    Map<String, String> boosts = new LinkedHashMap<>();
    JsonNode b = json.get("boosts");
    if (b != null && !b.isNull()) {
      if (!b.isObject()) {
        throw new SearchException(
            ErrorCode.BAD_BOOST,
            "boosts must be an object such as "
                + "{\"availability\": \"IN_STOCK:0.05\", \"attribute\": \"popularity:0.1\", \"price\": \"40:0.1\"}");
      }
      b.fields()
          .forEachRemaining(
              e -> {
                Boosts.checkKind(e.getKey(), "boosts." + e.getKey());
                boosts.put(e.getKey(), e.getValue().isNull() ? "" : e.getValue().asText());
              });
    }
    return new SearchRequest(
        json.hasNonNull("k") ? jsonInt(json.get("k")) : null,
        filter,
        json.hasNonNull("q") ? json.get("q").asText() : null,
        json.hasNonNull("imageWeight") ? jsonNumber(json.get("imageWeight"), "imageWeight") : null,
        json.hasNonNull("textWeight") ? jsonNumber(json.get("textWeight"), "textWeight") : null,
        Boosts.of(boosts, defaultBoosts),
        false,
        json.hasNonNull("crop") ? jsonCrop(json.get("crop")) : null,
        json.hasNonNull("localize") && jsonFlag(json.get("localize"), "localize"),
        json.hasNonNull("regions") && jsonFlag(json.get("regions"), "regions"),
        json.hasNonNull("minScore") ? minScore(json.get("minScore").asText()) : null,
        !json.hasNonNull("facets") || jsonFlag(json.get("facets"), "facets"));
  }

  private static boolean jsonFlag(JsonNode node, String name) {
    if (!node.isBoolean()) {
      throw SearchException.badRequest(name + " must be true or false, got " + node);
    }
    return node.asBoolean();
  }

  /** {@code "x,y,w,h"} in fractions 0..1 of the upright photo, or 400 bad_crop naming it. */
  static Region crop(String value) {
    if (value == null) {
      return null;
    }
    try {
      return Region.parse(value);
    } catch (IllegalArgumentException e) {
      throw new SearchException(ErrorCode.BAD_CROP, e.getMessage());
    }
  }

  /** A JSON crop: the string {@code "x,y,w,h"} or the array {@code [x, y, w, h]}. */
  private static Region jsonCrop(JsonNode node) {
    if (node.isTextual()) {
      return crop(node.asText());
    }
    if (node.isArray() && node.size() == 4) {
      StringBuilder text = new StringBuilder();
      for (JsonNode n : node) {
        if (!n.isNumber()) {
          throw new SearchException(
              ErrorCode.BAD_CROP,
              "crop " + node + " must be four numbers [x, y, w, h] in fractions 0..1 of the photo");
        }
        text.append(text.length() == 0 ? "" : ",").append(n.asDouble());
      }
      return crop(text.toString());
    }
    throw new SearchException(
        ErrorCode.BAD_CROP,
        "crop " + node + " must be \"x,y,w,h\" or [x, y, w, h] in fractions 0..1 of the photo");
  }

  private static String first(Function<String, List<String>> params, String name) {
    List<String> values = params.apply(name);
    return values.isEmpty() || values.get(0).isBlank() ? null : values.get(0).strip();
  }

  private static Integer integer(String value, String name) {
    if (value == null) {
      return null;
    }
    try {
      return Integer.valueOf(value);
    } catch (NumberFormatException e) {
      throw SearchException.badRequest(name + " must be a whole number, got " + value);
    }
  }

  private static Double number(String value, String name) {
    if (value == null) {
      return null;
    }
    try {
      return Double.valueOf(value);
    } catch (NumberFormatException e) {
      throw SearchException.badRequest(name + " must be a number, got " + value);
    }
  }

  private static Integer jsonInt(JsonNode node) {
    if (!node.canConvertToExactIntegral() || !node.canConvertToInt()) {
      throw SearchException.badRequest("k must be a whole number, got " + node);
    }
    return node.asInt();
  }

  private static Double jsonNumber(JsonNode node, String name) {
    if (!node.isNumber()) {
      throw SearchException.badRequest(name + " must be a number, got " + node);
    }
    return node.asDouble();
  }
}
