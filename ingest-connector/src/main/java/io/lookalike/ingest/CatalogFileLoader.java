package io.lookalike.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import io.lookalike.schemas.Availability;
import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.Price;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.ProductMetadata;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the products of a catalog file as {@link ProductEvent}s (key: productId).
 *
 * <p><b>JSON Lines</b> ({@code .jsonl}, {@code .ndjson}, {@code .json}): one object per line; blank
 * lines and lines starting with {@code #} are skipped.
 * <pre>
 * {"productId":"p1","title":"Red dress","brand":"Acme","category":"dress","price":49.9,"currency":"EUR",
 *  "availability":"IN_STOCK","attributes":{"colour":"red"},
 *  "images":[{"imageId":"front","url":"images/p1.jpg","position":0}]}
 * {"productId":"p2","image":"https://cdn.example.com/p2.jpg"}
 * {"productId":"p1","type":"DELETE"}
 * </pre>
 * Fields: {@code productId} (required); {@code type} UPSERT (default) or DELETE; {@code version}
 * (default: the current time in ms, strictly increasing within one load); {@code eventId} (default
 * {@code productId:version}); {@code occurredAt} (epoch ms or ISO-8601, default now); {@code title},
 * {@code brand}, {@code category}, {@code price}, {@code currency} (required with a price),
 * {@code availability} (IN_STOCK, OUT_OF_STOCK, PREORDER, DISCONTINUED, UNKNOWN; case and
 * spaces/dashes are ignored), {@code attributes} (object of strings); {@code images} as
 * {@code [{imageId, url, position}]} ({@code imageId} defaults to the index, {@code position} too),
 * or one {@code image} / {@code imageUrl} as a shorthand for image {@code 0}.
 *
 * <p><b>CSV</b> ({@code .csv}), with a header line: {@code productId,type,version,title,brand,category,
 * price,currency,availability,image_urls}; {@code image_urls} is {@code |}-separated, with imageIds
 * {@code 0,1,2…}. Any other column becomes an attribute. Empty cells count as absent.
 *
 * <p>A relative image path (no URL scheme) is resolved against the catalog file's directory into a
 * {@code file:} URL; the fetcher accepts those only when {@code image.fetch.allow.file} is true.
 */
public final class CatalogFileLoader {

  private static final Logger log = LoggerFactory.getLogger(CatalogFileLoader.class);
  private static final Pattern SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]+:.*");
  private static final Set<String> CSV_COLUMNS = Set.of("productId", "type", "version", "eventId", "occurredAt",
      "title", "brand", "category", "price", "currency", "availability", "image_urls");

  /** How a load went: events published and lines refused (each logged with its line number). */
  public record Result(long published, long invalid) {}

  private final Path file;
  private final Path baseDir;
  private long lastVersion;

  private CatalogFileLoader(Path file) {
    this.file = file;
    Path parent = file.toAbsolutePath().getParent();
    this.baseDir = parent != null ? parent : Path.of(".").toAbsolutePath();
  }

  /**
   * Reads {@code file} (CSV when it ends in {@code .csv}, JSON Lines otherwise) and sends one event per
   * valid line to {@code topic}; flushes before returning. A console progress bar is shown when
   * {@code showProgress} (pass {@code System.console() != null}).
   */
  public static Result load(Path file, Producer<String, ProductEvent> producer, String topic, boolean showProgress)
      throws IOException {
    return new CatalogFileLoader(file).run(producer, topic, showProgress);
  }

  private Result run(Producer<String, ProductEvent> producer, String topic, boolean showProgress) throws IOException {
    boolean csv = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv");
    List<Line> lines = csv ? csvLines() : jsonLines();
    AtomicLong failedSends = new AtomicLong();
    long published = 0;
    long invalid = 0;
    try (ProgressBar bar = showProgress
        ? new ProgressBarBuilder().setTaskName("Loading " + file.getFileName()).setInitialMax(lines.size())
            .setStyle(ProgressBarStyle.ASCII).build()
        : null) {
      for (Line line : lines) {
        try {
          if (line.fields() == null) {
            throw new IllegalArgumentException(line.error());
          }
          ProductEvent event = toEvent(line.fields());
          producer.send(new ProducerRecord<>(topic, event.getProductId(), event), (metadata, error) -> {
            if (error != null) {
              failedSends.incrementAndGet();
              log.error("Could not publish line {} of {}", line.number(), file, error);
            }
          });
          published++;
        } catch (IllegalArgumentException e) {
          invalid++;
          log.warn("Skipping line {} of {}: {}", line.number(), file, e.getMessage());
        }
        if (bar != null) {
          bar.step();
        }
      }
      producer.flush();
    }
    Result result = new Result(published - failedSends.get(), invalid + failedSends.get());
    log.info("Published {} product events from {} to {} ({} invalid lines)", result.published(), file, topic,
        result.invalid());
    return result;
  }

  /** One parsed line; a line that is not even an object carries null fields. */
  private record Line(long number, ObjectNode fields, String error) {}

  private List<Line> jsonLines() throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<Line> out = new ArrayList<>();
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String text;
      long number = 0;
      while ((text = reader.readLine()) != null) {
        number++;
        String trimmed = text.strip();
        if (trimmed.isEmpty() || trimmed.startsWith("#")) {
          continue;
        }
        JsonNode node;
        try {
          node = json.readTree(trimmed);
        } catch (IOException e) {
          out.add(new Line(number, null, "not JSON: " + e.getMessage().lines().findFirst().orElse("")));
          continue;
        }
        out.add(node instanceof ObjectNode object ? new Line(number, object, null)
            : new Line(number, null, "not a JSON object"));
      }
    }
    return out;
  }

  private List<Line> csvLines() throws IOException {
    CsvMapper mapper = new CsvMapper();
    mapper.enable(CsvParser.Feature.TRIM_SPACES);
    mapper.enable(CsvParser.Feature.SKIP_EMPTY_LINES);
    List<Line> out = new ArrayList<>();
    try (var it = mapper.readerFor(Map.class).with(CsvSchema.emptySchema().withHeader())
        .<Map<String, String>>readValues(file.toFile())) {
      while (it.hasNextValue()) {
        long number = it.getCurrentLocation().getLineNr();
        Map<String, String> row;
        try {
          row = it.nextValue();
        } catch (RuntimeException e) {
          out.add(new Line(number, null, "unreadable CSV row: " + e.getMessage()));
          continue;
        }
        ObjectNode node = mapper.createObjectNode();
        ObjectNode attributes = node.putObject("attributes");
        for (Map.Entry<String, String> cell : row.entrySet()) {
          if (cell.getValue() == null || cell.getValue().isBlank()) {
            continue;
          }
          if (cell.getKey().equals("image_urls")) {
            var images = node.putArray("images");
            String[] urls = cell.getValue().split("\\|");
            for (int i = 0; i < urls.length; i++) {
              images.addObject().put("imageId", Integer.toString(i)).put("url", urls[i].strip()).put("position", i);
            }
          } else if (CSV_COLUMNS.contains(cell.getKey())) {
            node.put(cell.getKey(), cell.getValue());
          } else {
            attributes.put(cell.getKey(), cell.getValue());
          }
        }
        out.add(new Line(number, node, null));
      }
    }
    return out;
  }

  private ProductEvent toEvent(ObjectNode n) {
    String productId = text(n, "productId");
    if (productId == null) {
      throw new IllegalArgumentException("no productId");
    }
    String typeText = text(n, "type");
    EventType type;
    try {
      type = typeText == null ? EventType.UPSERT : EventType.valueOf(typeText.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("type must be UPSERT or DELETE, not '" + typeText + "'");
    }
    long now = System.currentTimeMillis();
    long version = n.hasNonNull("version") ? parseLong(n, "version") : Math.max(now, lastVersion + 1);
    lastVersion = Math.max(lastVersion, version);
    String eventId = text(n, "eventId") != null ? text(n, "eventId") : productId + ":" + version;

    ProductEvent.Builder event = ProductEvent.newBuilder()
        .setEventId(eventId)
        .setType(type)
        .setProductId(productId)
        .setVersion(version)
        .setOccurredAt(Instant.ofEpochMilli(occurredAt(n, now)))
        .setImages(type == EventType.DELETE ? List.of() : images(n));
    if (type == EventType.UPSERT) {
      event.setProduct(metadata(n));
    }
    return event.build();
  }

  private ProductMetadata metadata(ObjectNode n) {
    ProductMetadata.Builder metadata = ProductMetadata.newBuilder()
        .setTitle(text(n, "title"))
        .setBrand(text(n, "brand"))
        .setCategory(text(n, "category"));
    if (n.hasNonNull("price")) {
      double amount;
      try {
        amount = Double.parseDouble(n.get("price").asText());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("price is not a number: " + n.get("price").asText());
      }
      String currency = text(n, "currency");
      if (currency == null) {
        throw new IllegalArgumentException("price without currency");
      }
      metadata.setPrice(new Price(amount, currency.toUpperCase(Locale.ROOT)));
    }
    String availability = text(n, "availability");
    if (availability != null) {
      try {
        metadata.setAvailability(Availability.valueOf(
            availability.strip().toUpperCase(Locale.ROOT).replace(' ', '_').replace('-', '_')));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown availability '" + availability + "'");
      }
    }
    Map<String, String> attributes = new LinkedHashMap<>();
    JsonNode attrs = n.get("attributes");
    if (attrs != null && attrs.isObject()) {
      attrs.fields().forEachRemaining(e -> attributes.put(e.getKey(), e.getValue().asText()));
    } else if (attrs != null && !attrs.isNull()) {
      throw new IllegalArgumentException("attributes must be an object");
    }
    return metadata.setAttributes(attributes).build();
  }

  private List<ImageRef> images(ObjectNode n) {
    List<ImageRef> images = new ArrayList<>();
    JsonNode array = n.get("images");
    if (array != null && array.isArray()) {
      int index = 0;
      for (Iterator<JsonNode> it = array.elements(); it.hasNext(); index++) {
        JsonNode image = it.next();
        String url = image.isTextual() ? image.asText() : text(image, "url");
        if (url == null) {
          throw new IllegalArgumentException("image " + index + " has no url");
        }
        String imageId = image.isObject() && text(image, "imageId") != null ? text(image, "imageId") : Integer.toString(index);
        int position = image.isObject() && image.hasNonNull("position") ? image.get("position").asInt(index) : index;
        images.add(new ImageRef(imageId, resolve(url), position));
      }
    } else if (array != null && !array.isNull()) {
      throw new IllegalArgumentException("images must be an array");
    }
    String single = text(n, "image") != null ? text(n, "image") : text(n, "imageUrl");
    if (single != null) {
      images.add(new ImageRef("0", resolve(single), 0));
    }
    return images;
  }

  /** A URL with a scheme as is; a path resolved against the catalog's directory, as a file: URL. */
  private String resolve(String url) {
    if (SCHEME.matcher(url).matches()) {
      return url;
    }
    return baseDir.resolve(url).normalize().toUri().toString();
  }

  private static long occurredAt(ObjectNode n, long now) {
    JsonNode value = n.get("occurredAt");
    if (value == null || value.isNull() || value.asText().isBlank()) {
      return now;
    }
    if (value.isNumber() || value.asText().chars().allMatch(Character::isDigit)) {
      return value.asLong();
    }
    try {
      return Instant.parse(value.asText()).toEpochMilli();
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("occurredAt is neither epoch ms nor ISO-8601: " + value.asText());
    }
  }

  private static long parseLong(ObjectNode n, String field) {
    try {
      return Long.parseLong(n.get(field).asText().strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(field + " is not a whole number: " + n.get(field).asText());
    }
  }

  private static String text(JsonNode n, String field) {
    JsonNode value = n.get(field);
    if (value == null || value.isNull() || value.isContainerNode()) {
      return null;
    }
    String text = value.asText().strip();
    return text.isEmpty() ? null : text;
  }
}
