package io.lookalike.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.Price;
import io.lookalike.schemas.ProductAvailability;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductMetadata;
import java.net.URI;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The one reader of product events in JSON, for every way in: the webhook, the catalog feeds (JSON
 * Lines, and CSV rows turned into objects) and JSON records on {@code catalog.product-events}. It
 * collects every field error rather than stopping at the first.
 *
 * <pre>
 * {"eventId": "e-42", "type": "UPSERT", "productId": "p1", "version": 7, "occurredAt": "2026-01-02T03:04:05Z",
 *  "product": {"title": "Red dress", "brand": "Acme", "category": "dress",
 *              "price": {"amount": 49.9, "currency": "EUR"}, "availability": "IN_STOCK",
 *              "attributes": {"colour": "red"}},
 *  "images": [{"imageId": "front", "url": "https://cdn.example.com/p1.jpg", "position": 0}]}
 * </pre>
 *
 * Only {@code productId} is required. {@code type} defaults to UPSERT; {@code occurredAt} (ISO-8601
 * or epoch ms) to now; {@code version} to {@code occurredAt} in epoch ms (the version rule of
 * docs/producing.md); {@code eventId} to {@code productId:version}. The metadata may also sit at
 * the top level, as in feeds ({@code "title": …, "price": 49.9, "currency": "EUR"}). Images are
 * objects {@code {imageId, url, position}} ({@code imageId} and {@code position} default to the
 * index) or plain URL strings; {@code image} or {@code imageUrl} is a shorthand for image {@code
 * 0}. Metadata and images are ignored for a DELETE. Numbers may be given as strings (CSV). Unknown
 * fields are ignored.
 */
public final class ProductEventJson {

  /** One invalid field: where (e.g. {@code [1].images[0].url}) and what is wrong. */
  public record FieldError(String field, String message) {
    @Override
    public String toString() {
      return field.isEmpty() ? message : field + ": " + message;
    }
  }

  /**
   * What differs between the ways in.
   *
   * @param resolveRelative maps an image URL without a scheme to a full URL (a feed's location);
   *     null: refused
   * @param allowFileUrls whether {@code file:} image URLs are accepted ({@code
   *     image.fetch.allow.file})
   * @param clock the default {@code occurredAt}, in epoch ms
   */
  public record Rules(
      UnaryOperator<String> resolveRelative, boolean allowFileUrls, LongSupplier clock) {
    /** Absolute http(s) URLs only, the wall clock. */
    public static Rules strict() {
      return new Rules(null, false, System::currentTimeMillis);
    }

    public Rules withFileUrls(boolean allow) {
      return new Rules(resolveRelative, allow, clock);
    }
  }

  private static final Pattern SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]+:.*");
  private static final Pattern DIGITS = Pattern.compile("\\d{1,18}");

  private final List<FieldError> errors;
  private final String at;
  private final Rules rules;

  private ProductEventJson(List<FieldError> errors, String at, Rules rules) {
    this.errors = errors;
    this.at = at;
    this.rules = rules;
  }

  /**
   * The event, or null with the reasons added to {@code errors}; {@code at} prefixes the field
   * names.
   */
  public static ProductEvent read(JsonNode node, String at, List<FieldError> errors, Rules rules) {
    return new ProductEventJson(errors, at, rules).event(node);
  }

  /**
   * The event.
   *
   * @throws IllegalArgumentException naming every invalid field
   */
  public static ProductEvent read(JsonNode node, Rules rules) {
    List<FieldError> errors = new ArrayList<>();
    ProductEvent event = read(node, "", errors, rules);
    if (event == null) {
      throw new IllegalArgumentException(
          errors.stream().map(FieldError::toString).collect(Collectors.joining("; ")));
    }
    return event;
  }

  private ProductEvent event(JsonNode n) {
    int before = errors.size();
    if (n == null || !n.isObject()) {
      error("", "must be a JSON object");
      return null;
    }
    String productId = requiredText(n, "productId", 256);
    EventType type = EventType.UPSERT;
    String typeText = optionalText(n, "type", "type");
    if (typeText != null) {
      try {
        type = EventType.valueOf(typeText.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        error("type", "must be UPSERT or DELETE");
      }
    }
    Instant occurredAt = occurredAt(n.get("occurredAt"));
    Long version = wholeNumber(n, "version", "version", Long.MAX_VALUE);
    if (version == null && occurredAt != null) {
      version =
          occurredAt.toEpochMilli(); // the version rule: the source's own version, else occurredAt
    }
    String eventId = optionalText(n, "eventId", "eventId");
    if (eventId != null && eventId.length() > 256) {
      error("eventId", "must be at most 256 characters");
    }
    ProductMetadata product = null;
    List<ImageRef> images = List.of();
    if (type == EventType.UPSERT) {
      JsonNode nested = n.get("product");
      if (nested != null && !nested.isNull() && !nested.isObject()) {
        error("product", "must be an object");
      } else {
        product =
            nested != null && !nested.isNull() ? metadata(nested, "product.") : metadata(n, "");
      }
      images = images(n);
    }
    if (errors.size() > before) {
      return null;
    }
    return ProductEvent.newBuilder()
        .setEventId(eventId != null ? eventId : productId + ":" + version)
        .setType(type)
        .setProductId(productId)
        .setVersion(version)
        .setOccurredAt(occurredAt)
        .setProduct(product)
        .setImages(images)
        .build();
  }

  private Instant occurredAt(JsonNode value) {
    if (value == null || value.isNull() || (value.isTextual() && value.asText().isBlank())) {
      return Instant.ofEpochMilli(rules.clock().getAsLong());
    }
    if (value.isIntegralNumber()
        || (value.isTextual() && DIGITS.matcher(value.asText().strip()).matches())) {
      return Instant.ofEpochMilli(Long.parseLong(value.asText().strip()));
    }
    try {
      return Instant.parse(value.asText().strip());
    } catch (DateTimeParseException e) {
      error("occurredAt", "must be ISO-8601 (2026-01-02T03:04:05Z) or epoch milliseconds");
      return null;
    }
  }

  private ProductMetadata metadata(JsonNode p, String prefix) {
    ProductMetadata.Builder metadata =
        ProductMetadata.newBuilder()
            .setTitle(optionalText(p, prefix + "title", "title"))
            .setBrand(optionalText(p, prefix + "brand", "brand"))
            .setCategory(optionalText(p, prefix + "category", "category"));
    JsonNode price = p.get("price");
    if (price != null && !price.isNull() && !(price.isTextual() && price.asText().isBlank())) {
      // {"price": {"amount": 49.9, "currency": "EUR"}}, or {"price": 49.9, "currency": "EUR"} as in
      // feeds
      JsonNode holder = price.isObject() ? price : p;
      String at = price.isObject() ? prefix + "price." : prefix;
      Double amount = number(price.isObject() ? price.get("amount") : price);
      JsonNode currency = holder.get("currency");
      if (amount == null || amount < 0) {
        error(at + (price.isObject() ? "amount" : "price"), "must be a number >= 0");
      }
      if (currency == null
          || !currency.isTextual()
          || !currency.asText().strip().matches("[A-Za-z]{3}")) {
        error(at + "currency", "must be an ISO 4217 code such as EUR");
      } else if (amount != null && amount >= 0) {
        metadata.setPrice(new Price(amount, currency.asText().strip().toUpperCase(Locale.ROOT)));
      }
    }
    String availability = optionalText(p, prefix + "availability", "availability");
    if (availability != null) {
      try {
        metadata.setAvailability(ProductAvailability.normalise(availability));
      } catch (IllegalArgumentException e) {
        error(prefix + "availability", "must be one of " + ProductAvailability.VALUES);
      }
    }
    JsonNode attributes = p.get("attributes");
    Map<String, String> attrs = new LinkedHashMap<>();
    if (attributes != null && !attributes.isNull()) {
      if (!attributes.isObject()) {
        error(prefix + "attributes", "must be an object of strings");
      } else {
        attributes
            .fields()
            .forEachRemaining(
                e -> {
                  if (e.getValue().isContainerNode()) {
                    error(prefix + "attributes." + e.getKey(), "must be a string");
                  } else if (!e.getValue().isNull()) {
                    attrs.put(e.getKey(), e.getValue().asText());
                  }
                });
      }
    }
    return metadata.setAttributes(attrs).build();
  }

  private static Double number(JsonNode value) {
    if (value == null || value.isNull()) {
      return null;
    }
    if (value.isNumber()) {
      return value.asDouble();
    }
    if (value.isTextual()) {
      try {
        return Double.parseDouble(value.asText().strip());
      } catch (NumberFormatException e) {
        return null;
      }
    }
    return null;
  }

  private List<ImageRef> images(JsonNode n) {
    List<ImageRef> images = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    JsonNode array = n.get("images");
    if (array != null && !array.isNull()) {
      if (!array.isArray()) {
        error("images", "must be an array");
      } else {
        for (int i = 0; i < array.size(); i++) {
          image(array.get(i), "images[" + i + "]", i, ids, images);
        }
      }
    }
    for (String shorthand : List.of("image", "imageUrl")) {
      JsonNode single = n.get(shorthand);
      if (single != null
          && !single.isNull()
          && !(single.isTextual() && single.asText().isBlank())) {
        image(single, shorthand, 0, ids, images);
        break;
      }
    }
    return images;
  }

  private void image(
      JsonNode image, String field, int index, Set<String> ids, List<ImageRef> images) {
    String imageId;
    String url;
    int position = index;
    if (image.isTextual()) {
      imageId = Integer.toString(index);
      url = image.asText().strip();
    } else if (image.isObject()) {
      imageId = optionalText(image, field + ".imageId", "imageId");
      imageId = imageId == null ? Integer.toString(index) : imageId;
      url = requiredText(image, field + ".url", "url", 4096);
      Long pos = wholeNumber(image, field + ".position", "position", Integer.MAX_VALUE);
      position = pos == null ? index : pos.intValue();
    } else {
      error(field, "must be an object or a URL");
      return;
    }
    if (imageId.length() > 256) {
      error(field + ".imageId", "must be at most 256 characters");
    } else if (imageId.contains("/")) {
      error(field + ".imageId", "must not contain '/'");
    } else if (!ids.add(imageId)) {
      error(field + ".imageId", "is a duplicate");
    }
    if (url != null) {
      url = url(url, field + (image.isObject() ? ".url" : ""));
    }
    images.add(new ImageRef(imageId, url, position));
  }

  /**
   * The URL as it will be fetched, or null with an error: http(s), and file: only where allowed.
   */
  private String url(String url, String field) {
    if (!SCHEME.matcher(url).matches()) {
      if (rules.resolveRelative() == null) {
        error(field, "must be an absolute http(s) URL");
        return null;
      }
      try {
        url = rules.resolveRelative().apply(url);
      } catch (IllegalArgumentException e) {
        error(field, "is not a valid relative URL");
        return null;
      }
    }
    try {
      URI uri = new URI(url);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null) {
        return url;
      }
      if (scheme.equals("file")) {
        if (rules.allowFileUrls()) {
          return url;
        }
        error(
            field,
            "file: URLs are refused unless image.fetch.allow.file=true (the local mode sets it)");
        return null;
      }
    } catch (java.net.URISyntaxException e) {
      // an error below
    }
    error(field, "must be an absolute http(s) URL");
    return null;
  }

  private Long wholeNumber(JsonNode n, String field, String name, long max) {
    JsonNode value = n.get(name);
    if (value == null || value.isNull() || (value.isTextual() && value.asText().isBlank())) {
      return null;
    }
    boolean integral = value.isIntegralNumber() && value.canConvertToLong();
    boolean digits = value.isTextual() && DIGITS.matcher(value.asText().strip()).matches();
    long parsed = integral ? value.asLong() : digits ? Long.parseLong(value.asText().strip()) : -1;
    if (parsed < 0 || parsed > max) {
      error(field, "must be a whole number >= 0");
      return null;
    }
    return parsed;
  }

  private String requiredText(JsonNode n, String field, int maxLength) {
    return requiredText(n, field, field, maxLength);
  }

  private String requiredText(JsonNode n, String field, String name, int maxLength) {
    JsonNode value = n.get(name);
    if (value == null || value.isNull() || (value.isTextual() && value.asText().isBlank())) {
      error(field, "is required");
      return null;
    }
    if (!value.isTextual() && !value.isNumber()) {
      error(field, "must be a string");
      return null;
    }
    if (value.asText().length() > maxLength) {
      error(field, "must be at most " + maxLength + " characters");
      return null;
    }
    return value.asText().strip();
  }

  private String optionalText(JsonNode n, String field, String name) {
    JsonNode value = n.get(name);
    if (value == null || value.isNull()) {
      return null;
    }
    if (value.isContainerNode()) {
      error(field, "must be a string");
      return null;
    }
    return value.asText().strip().isEmpty() ? null : value.asText().strip();
  }

  private void error(String field, String message) {
    errors.add(
        new FieldError(at + (field.isEmpty() || at.isEmpty() ? field : "." + field), message));
  }
}
