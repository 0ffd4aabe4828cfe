package io.lookalike.ingest.webhook;

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

/**
 * Reads one webhook event, in the shape of {@link ProductEvent}, collecting every field error rather
 * than stopping at the first:
 * <pre>
 * {"eventId": "e-42", "type": "UPSERT", "productId": "p1", "version": 7, "occurredAt": "2026-01-02T03:04:05Z",
 *  "product": {"title": "Red dress", "brand": "Acme", "category": "dress",
 *              "price": {"amount": 49.9, "currency": "EUR"}, "availability": "IN_STOCK",
 *              "attributes": {"colour": "red"}},
 *  "images": [{"imageId": "front", "url": "https://cdn.example.com/p1.jpg", "position": 0}]}
 * </pre>
 * {@code occurredAt} (ISO-8601 or epoch ms) defaults to now; {@code product} and {@code images} are
 * required for an UPSERT and ignored for a DELETE. Unknown fields are ignored.
 */
final class EventJson {

  /** One invalid field: where (e.g. {@code [1].images[0].url}) and what is wrong. */
  record FieldError(String field, String message) {}

  private final List<FieldError> errors;
  private final String at;

  private EventJson(List<FieldError> errors, String at) {
    this.errors = errors;
    this.at = at;
  }

  /** The event, or null with the reasons added to {@code errors}; {@code at} prefixes the field names. */
  static ProductEvent read(JsonNode node, String at, List<FieldError> errors) {
    return new EventJson(errors, at).event(node);
  }

  private ProductEvent event(JsonNode n) {
    int before = errors.size();
    if (n == null || !n.isObject()) {
      error("", "must be a JSON object");
      return null;
    }
    String eventId = requiredText(n, "eventId", 256);
    String productId = requiredText(n, "productId", 256);
    EventType type = null;
    String typeText = requiredText(n, "type", 16);
    if (typeText != null) {
      try {
        type = EventType.valueOf(typeText.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        error("type", "must be UPSERT or DELETE");
      }
    }
    Long version = null;
    JsonNode v = n.get("version");
    if (v == null || v.isNull()) {
      error("version", "is required");
    } else if (!v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() < 0) {
      error("version", "must be a whole number >= 0");
    } else {
      version = v.asLong();
    }
    Instant occurredAt = occurredAt(n.get("occurredAt"));
    ProductMetadata product = null;
    List<ImageRef> images = List.of();
    if (type == EventType.UPSERT) {
      product = product(n.get("product"));
      images = images(n.get("images"));
    }
    if (errors.size() > before) {
      return null;
    }
    return ProductEvent.newBuilder().setEventId(eventId).setType(type).setProductId(productId).setVersion(version)
        .setOccurredAt(occurredAt).setProduct(product).setImages(images).build();
  }

  private Instant occurredAt(JsonNode value) {
    if (value == null || value.isNull()) {
      return Instant.now();
    }
    if (value.isIntegralNumber()) {
      return Instant.ofEpochMilli(value.asLong());
    }
    try {
      return Instant.parse(value.asText());
    } catch (DateTimeParseException e) {
      error("occurredAt", "must be ISO-8601 (2026-01-02T03:04:05Z) or epoch milliseconds");
      return null;
    }
  }

  private ProductMetadata product(JsonNode p) {
    if (p == null || p.isNull()) {
      error("product", "is required for an UPSERT");
      return null;
    }
    if (!p.isObject()) {
      error("product", "must be an object");
      return null;
    }
    ProductMetadata.Builder metadata = ProductMetadata.newBuilder()
        .setTitle(optionalText(p, "product.title"))
        .setBrand(optionalText(p, "product.brand"))
        .setCategory(optionalText(p, "product.category"));
    JsonNode price = p.get("price");
    if (price != null && !price.isNull()) {
      JsonNode amount = price.get("amount");
      JsonNode currency = price.get("currency");
      if (amount == null || !amount.isNumber() || amount.asDouble() < 0) {
        error("product.price.amount", "must be a number >= 0");
      }
      if (currency == null || !currency.isTextual() || !currency.asText().matches("[A-Za-z]{3}")) {
        error("product.price.currency", "must be an ISO 4217 code such as EUR");
      }
      if (amount != null && amount.isNumber() && currency != null && currency.isTextual()) {
        metadata.setPrice(new Price(amount.asDouble(), currency.asText().toUpperCase(Locale.ROOT)));
      }
    }
    String availability = optionalText(p, "product.availability");
    if (availability != null) {
      try {
        metadata.setAvailability(ProductAvailability.normalise(availability));
      } catch (IllegalArgumentException e) {
        error("product.availability", "must be one of " + ProductAvailability.ORDERED);
      }
    }
    JsonNode attributes = p.get("attributes");
    Map<String, String> attrs = new LinkedHashMap<>();
    if (attributes != null && !attributes.isNull()) {
      if (!attributes.isObject()) {
        error("product.attributes", "must be an object of strings");
      } else {
        attributes.fields().forEachRemaining(e -> {
          if (e.getValue().isContainerNode()) {
            error("product.attributes." + e.getKey(), "must be a string");
          } else if (!e.getValue().isNull()) {
            attrs.put(e.getKey(), e.getValue().asText());
          }
        });
      }
    }
    return metadata.setAttributes(attrs).build();
  }

  private List<ImageRef> images(JsonNode array) {
    if (array == null || array.isNull()) {
      return List.of();
    }
    if (!array.isArray()) {
      error("images", "must be an array");
      return List.of();
    }
    List<ImageRef> images = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < array.size(); i++) {
      String field = "images[" + i + "]";
      JsonNode image = array.get(i);
      if (!image.isObject()) {
        error(field, "must be an object");
        continue;
      }
      String imageId = requiredText(image, field + ".imageId", "imageId", 256);
      if (imageId != null && imageId.contains("/")) {
        error(field + ".imageId", "must not contain '/'");
      } else if (imageId != null && !ids.add(imageId)) {
        error(field + ".imageId", "is a duplicate");
      }
      String url = requiredText(image, field + ".url", "url", 4096);
      if (url != null && !isHttpUrl(url)) {
        error(field + ".url", "must be an absolute http(s) URL");
      }
      JsonNode position = image.get("position");
      int pos = i;
      if (position != null && !position.isNull()) {
        if (!position.canConvertToInt() || !position.isIntegralNumber() || position.asInt() < 0) {
          error(field + ".position", "must be a whole number >= 0");
        } else {
          pos = position.asInt();
        }
      }
      images.add(new ImageRef(imageId, url, pos));
    }
    return images;
  }

  private static boolean isHttpUrl(String url) {
    try {
      URI uri = new URI(url);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      return (scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null;
    } catch (java.net.URISyntaxException e) {
      return false;
    }
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
    if (!value.isTextual()) {
      error(field, "must be a string");
      return null;
    }
    if (value.asText().length() > maxLength) {
      error(field, "must be at most " + maxLength + " characters");
      return null;
    }
    return value.asText().strip();
  }

  private String optionalText(JsonNode n, String field) {
    JsonNode value = n.get(field.substring(field.lastIndexOf('.') + 1));
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      error(field, "must be a string");
      return null;
    }
    return value.asText().strip().isEmpty() ? null : value.asText().strip();
  }

  private void error(String field, String message) {
    errors.add(new FieldError(at + (field.isEmpty() || at.isEmpty() ? field : "." + field), message));
  }
}
