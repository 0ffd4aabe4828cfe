package io.lookalike.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import io.lookalike.schemas.ProductEvent;
import java.io.IOException;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Turns one line of a catalog feed into a {@link ProductEvent}; shared by {@link CatalogFileLoader}
 * and the Kafka Connect source connector. Not thread-safe (it remembers the CSV header and the last
 * default time it assigned).
 *
 * <p><b>JSON Lines</b> ({@code .jsonl}, {@code .ndjson}, {@code .json}): one object per line; blank
 * lines and lines starting with {@code #} are skipped.
 *
 * <pre>
 * {"productId":"p1","title":"Red dress","brand":"Acme","category":"dress","price":49.9,"currency":"EUR",
 *  "availability":"IN_STOCK","attributes":{"colour":"red"},
 *  "images":[{"imageId":"front","url":"images/p1.jpg","position":0}]}
 * {"productId":"p2","image":"https://cdn.example.com/p2.jpg"}
 * {"productId":"p1","type":"DELETE"}
 * </pre>
 *
 * The fields are those of {@link ProductEventJson}, which reads every line: {@code productId}
 * (required); {@code type} UPSERT (default) or DELETE; {@code version} (default: {@code occurredAt}
 * in epoch ms); {@code eventId} (default {@code productId:version}); {@code occurredAt} (epoch ms
 * or ISO-8601, default now, strictly increasing within one parser); {@code title}, {@code brand},
 * {@code category}, {@code price}, {@code currency} (required with a price), {@code availability}
 * (IN_STOCK, OUT_OF_STOCK, PREORDER, DISCONTINUED, UNKNOWN; case and spaces/dashes are ignored),
 * {@code attributes} (object of strings); {@code images} as {@code [{imageId, url, position}]}
 * ({@code imageId} defaults to the index, {@code position} too), or one {@code image} / {@code
 * imageUrl} as a shorthand for image {@code 0}.
 *
 * <p><b>CSV</b> ({@code .csv}), with a header line: {@code
 * productId,type,version,eventId,occurredAt,
 * title,brand,category,price,currency,availability,image_urls}; {@code image_urls} is {@code
 * |}-separated, with imageIds {@code 0,1,2…}. Any other column becomes an attribute. Empty cells
 * count as absent. One record per line: quoted cells may hold commas but no line breaks.
 *
 * <p>Image URLs without a scheme are resolved by the resolver given (against the feed's location).
 */
public final class CatalogFeedParser {

  /** The two feed formats. */
  public enum Format {
    JSON_LINES,
    CSV;

    /** CSV when the name ends in {@code .csv}, JSON Lines otherwise. */
    public static Format of(String fileName) {
      return fileName.toLowerCase(Locale.ROOT).endsWith(".csv") ? CSV : JSON_LINES;
    }
  }

  private static final Set<String> CSV_COLUMNS =
      Set.of(
          "productId",
          "type",
          "version",
          "eventId",
          "occurredAt",
          "title",
          "brand",
          "category",
          "price",
          "currency",
          "availability",
          "image_urls");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final CsvMapper CSV = new CsvMapper();

  private final Format format;
  private final ProductEventJson.Rules rules;
  private ObjectReader csvRow;
  private long lastClock;

  /**
   * @param resolveRelative maps an image URL without a scheme to a full URL
   */
  public CatalogFeedParser(Format format, UnaryOperator<String> resolveRelative) {
    this(format, resolveRelative, true);
  }

  /**
   * @param resolveRelative maps an image URL without a scheme to a full URL
   * @param allowFileUrls whether {@code file:} image URLs are accepted (see {@link
   *     ProductEventJson.Rules})
   */
  public CatalogFeedParser(
      Format format, UnaryOperator<String> resolveRelative, boolean allowFileUrls) {
    this.format = format;
    this.rules = new ProductEventJson.Rules(resolveRelative, allowFileUrls, this::nextClock);
  }

  /**
   * Resolves relative image URLs against {@code base} (a directory's file: URI ending in '/', or a
   * feed URL).
   */
  public static UnaryOperator<String> relativeTo(URI base) {
    return url -> base.resolve(url).toString();
  }

  public Format format() {
    return format;
  }

  /** Whether the parser still waits for the CSV header line (always false for JSON Lines). */
  public boolean needsHeader() {
    return format == Format.CSV && csvRow == null;
  }

  /** Takes a CSV header line; {@link #parse} takes it too when it comes first. */
  public void header(String line) {
    String[] columns;
    try {
      columns = CSV.readerFor(String[].class).with(CsvParser.Feature.TRIM_SPACES).readValue(line);
    } catch (IOException e) {
      throw new IllegalArgumentException("unreadable CSV header: " + e.getMessage(), e);
    }
    CsvSchema.Builder schema = CsvSchema.builder();
    for (String column : columns) {
      schema.addColumn(column.strip());
    }
    csvRow = CSV.readerFor(Map.class).with(schema.build()).with(CsvParser.Feature.TRIM_SPACES);
  }

  /**
   * The event of one line, or null for a line that holds none (blank, a comment, the CSV header).
   *
   * @throws IllegalArgumentException with a message naming what is wrong
   */
  public ProductEvent parse(String line) {
    String trimmed = line.strip();
    if (trimmed.isEmpty() || (format == Format.JSON_LINES && trimmed.startsWith("#"))) {
      return null;
    }
    if (needsHeader()) {
      header(trimmed);
      return null;
    }
    return toEvent(format == Format.CSV ? csvFields(trimmed) : jsonFields(trimmed));
  }

  private static ObjectNode jsonFields(String line) {
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "not JSON: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (!(node instanceof ObjectNode object)) {
      throw new IllegalArgumentException("not a JSON object");
    }
    return object;
  }

  private ObjectNode csvFields(String line) {
    Map<String, String> row;
    try {
      row = csvRow.readValue(line);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "unreadable CSV row: " + e.getMessage().lines().findFirst().orElse(""));
    }
    ObjectNode node = JSON.createObjectNode();
    ObjectNode attributes = node.putObject("attributes");
    for (Map.Entry<String, String> cell : row.entrySet()) {
      if (cell.getValue() == null || cell.getValue().isBlank()) {
        continue;
      }
      if (cell.getKey().equals("image_urls")) {
        var images = node.putArray("images");
        String[] urls = cell.getValue().split("\\|");
        for (int i = 0; i < urls.length; i++) {
          images
              .addObject()
              .put("imageId", Integer.toString(i))
              .put("url", urls[i].strip())
              .put("position", i);
        }
      } else if (CSV_COLUMNS.contains(cell.getKey())) {
        node.put(cell.getKey(), cell.getValue());
      } else {
        attributes.put(cell.getKey(), cell.getValue());
      }
    }
    return node;
  }

  private ProductEvent toEvent(ObjectNode n) {
    return ProductEventJson.read(n, rules);
  }

  /**
   * Now, but strictly increasing within this parser: two lines of one product never tie on a
   * default version.
   */
  private long nextClock() {
    lastClock = Math.max(System.currentTimeMillis(), lastClock + 1);
    return lastClock;
  }
}
