package io.lookalike.store.milvus;

import static io.lookalike.store.milvus.MilvusSchema.ATTRIBUTES;
import static io.lookalike.store.milvus.MilvusSchema.AVAILABILITY;
import static io.lookalike.store.milvus.MilvusSchema.AVAILABILITY_KEY;
import static io.lookalike.store.milvus.MilvusSchema.BRAND;
import static io.lookalike.store.milvus.MilvusSchema.BRAND_KEY;
import static io.lookalike.store.milvus.MilvusSchema.CATEGORY;
import static io.lookalike.store.milvus.MilvusSchema.CATEGORY_KEY;
import static io.lookalike.store.milvus.MilvusSchema.CURRENCY;
import static io.lookalike.store.milvus.MilvusSchema.EMBEDDED_AT;
import static io.lookalike.store.milvus.MilvusSchema.KEY;
import static io.lookalike.store.milvus.MilvusSchema.LONG_MAX_BYTES;
import static io.lookalike.store.milvus.MilvusSchema.OCCURRED_AT;
import static io.lookalike.store.milvus.MilvusSchema.POSITION;
import static io.lookalike.store.milvus.MilvusSchema.PRICE;
import static io.lookalike.store.milvus.MilvusSchema.PRODUCT_ID;
import static io.lookalike.store.milvus.MilvusSchema.SHA256;
import static io.lookalike.store.milvus.MilvusSchema.SHORT_MAX_BYTES;
import static io.lookalike.store.milvus.MilvusSchema.SOURCE_URL;
import static io.lookalike.store.milvus.MilvusSchema.TEXT;
import static io.lookalike.store.milvus.MilvusSchema.TEXT_MAX_BYTES;
import static io.lookalike.store.milvus.MilvusSchema.TITLE;
import static io.lookalike.store.milvus.MilvusSchema.VECTOR;
import static io.lookalike.store.milvus.MilvusSchema.VERSION;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import io.lookalike.schemas.ImageKey;
import io.lookalike.store.StoredImage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Maps a {@link StoredImage} to a Milvus row (JSON, as the SDK's upsert takes) and back. */
final class MilvusRows {

  private MilvusRows() {}

  /**
   * A row for a collection with ({@code withText}) or without (created before full-text search) the
   * text field.
   */
  static JsonObject toRow(StoredImage image, boolean withText) {
    JsonObject row = toRow(image);
    if (withText) {
      row.add(TEXT, text(searchableText(image), TEXT_MAX_BYTES));
    }
    return row;
  }

  /**
   * What full-text search matches: title, brand, category and attribute values, brand and category
   * twice so that BM25 weighs them double (as the Lucene store's field boosts do).
   */
  static String searchableText(StoredImage image) {
    List<String> parts = new ArrayList<>();
    parts.add(image.title());
    parts.add(image.brand());
    parts.add(image.brand());
    parts.add(image.category());
    parts.add(image.category());
    if (image.attributes() != null) {
      parts.addAll(image.attributes().values());
    }
    return String.join(" ", parts.stream().filter(p -> p != null && !p.isBlank()).toList());
  }

  private static JsonObject toRow(StoredImage image) {
    JsonObject row = new JsonObject();
    row.addProperty(KEY, image.key().toString());
    row.addProperty(PRODUCT_ID, image.productId());
    JsonArray vector = new JsonArray(image.vector().length);
    for (float value : image.vector()) {
      vector.add(value);
    }
    row.add(VECTOR, vector);
    row.addProperty(VERSION, image.version());
    row.addProperty(OCCURRED_AT, image.occurredAtMillis());
    row.addProperty(EMBEDDED_AT, image.embeddedAtMillis());
    row.addProperty(POSITION, image.position());
    row.add(SHA256, text(image.sha256(), SHORT_MAX_BYTES));
    row.add(SOURCE_URL, text(image.sourceUrl(), LONG_MAX_BYTES));
    row.add(TITLE, text(image.title(), LONG_MAX_BYTES));
    row.add(BRAND, text(image.brand(), SHORT_MAX_BYTES));
    row.add(CATEGORY, text(image.category(), SHORT_MAX_BYTES));
    row.add(PRICE, image.price() == null ? JsonNull.INSTANCE : new JsonPrimitive(image.price()));
    row.add(CURRENCY, text(image.currency(), SHORT_MAX_BYTES));
    row.add(AVAILABILITY, text(image.availability(), SHORT_MAX_BYTES));
    JsonObject attributes = new JsonObject();
    if (image.attributes() != null) {
      image.attributes().forEach(attributes::addProperty);
    }
    row.add(ATTRIBUTES, attributes);
    row.add(BRAND_KEY, text(MilvusExpressions.normalise(image.brand()), SHORT_MAX_BYTES));
    row.add(CATEGORY_KEY, text(MilvusExpressions.normalise(image.category()), SHORT_MAX_BYTES));
    row.add(
        AVAILABILITY_KEY, text(MilvusExpressions.normalise(image.availability()), SHORT_MAX_BYTES));
    return row;
  }

  /** {@code value} cut to at most {@code maxBytes} of UTF-8, never inside a character. */
  static JsonElement text(String value, int maxBytes) {
    if (value == null) {
      return JsonNull.INSTANCE;
    }
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= maxBytes) {
      return new JsonPrimitive(value);
    }
    int end = maxBytes;
    while (end > 0 && (bytes[end] & 0xC0) == 0x80) {
      end--; // do not cut a UTF-8 sequence in half
    }
    return new JsonPrimitive(new String(bytes, 0, end, StandardCharsets.UTF_8));
  }

  static StoredImage fromEntity(Map<String, Object> entity) {
    Map<String, String> attributes = new TreeMap<>();
    if (entity.get(ATTRIBUTES) instanceof JsonObject json) {
      json.entrySet()
          .forEach(
              e ->
                  attributes.put(
                      e.getKey(), e.getValue().isJsonNull() ? null : e.getValue().getAsString()));
    }
    Object price = entity.get(PRICE);
    return new StoredImage(
        ImageKey.parse((String) entity.get(KEY)),
        vector(entity.get(VECTOR)),
        ((Number) entity.get(VERSION)).longValue(),
        (String) entity.get(SHA256),
        ((Number) entity.get(POSITION)).intValue(),
        (String) entity.get(SOURCE_URL),
        ((Number) entity.get(OCCURRED_AT)).longValue(),
        ((Number) entity.get(EMBEDDED_AT)).longValue(),
        (String) entity.get(TITLE),
        (String) entity.get(BRAND),
        (String) entity.get(CATEGORY),
        price == null ? null : ((Number) price).doubleValue(),
        (String) entity.get(CURRENCY),
        (String) entity.get(AVAILABILITY),
        attributes);
  }

  private static float[] vector(Object value) {
    if (value instanceof List<?> list) {
      float[] vector = new float[list.size()];
      for (int i = 0; i < vector.length; i++) {
        vector[i] = ((Number) list.get(i)).floatValue();
      }
      return vector;
    }
    return new float[0];
  }
}
