package io.lookalike.ingest;

import io.lookalike.schemas.ProductEvent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the products of a catalog file (JSON Lines, or CSV when it ends in {@code .csv}) as
 * {@link ProductEvent}s (key: productId); the line format is {@link CatalogFeedParser}'s.
 *
 * <p>A relative image path (no URL scheme) is resolved against the catalog file's directory into a
 * {@code file:} URL; the fetcher accepts those only when {@code image.fetch.allow.file} is true
 * (the local mode sets it), and the loader refuses them up front when told the fetcher will not.
 */
public final class CatalogFileLoader {

  private static final Logger log = LoggerFactory.getLogger(CatalogFileLoader.class);

  /** How a load went: events published and lines refused (each logged with its line number). */
  public record Result(long published, long invalid, String token) {

    public Result(long published, long invalid) {
      this(published, invalid, null);
    }
  }

  private final Path file;
  private final CatalogFeedParser parser;

  private CatalogFileLoader(Path file, boolean allowFileUrls) {
    this.file = file;
    Path parent = file.toAbsolutePath().getParent();
    Path baseDir = parent != null ? parent : Path.of(".").toAbsolutePath();
    this.parser =
        new CatalogFeedParser(
            CatalogFeedParser.Format.of(file.getFileName().toString()),
            url -> baseDir.resolve(url).normalize().toUri().toString(),
            allowFileUrls);
  }

  /**
   * Reads {@code file} (CSV when it ends in {@code .csv}, JSON Lines otherwise) and sends one event
   * per valid line to {@code topic}; flushes before returning. A console progress bar is shown when
   * {@code showProgress} (pass {@code System.console() != null}).
   */
  public static Result load(
      Path file, Producer<String, ProductEvent> producer, String topic, boolean showProgress)
      throws IOException {
    return load(file, producer, topic, showProgress, true);
  }

  /**
   * As {@link #load(Path, Producer, String, boolean)}; with {@code allowFileUrls} false, lines
   * naming image paths or {@code file:} URLs are refused (the rule of {@code
   * image.fetch.allow.file}).
   */
  public static Result load(
      Path file,
      Producer<String, ProductEvent> producer,
      String topic,
      boolean showProgress,
      boolean allowFileUrls)
      throws IOException {
    return new CatalogFileLoader(file, allowFileUrls).run(producer, topic, showProgress);
  }

  private Result run(Producer<String, ProductEvent> producer, String topic, boolean showProgress)
      throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    AtomicLong failedSends = new AtomicLong();
    long published = 0;
    long invalid = 0;
    // The last version per product, for the read-your-writes token.
    java.util.Map<String, io.lookalike.schemas.ChangeToken.Change> changes =
        new java.util.LinkedHashMap<>();
    try (ProgressBar bar =
        showProgress
            ? new ProgressBarBuilder()
                .setTaskName("Loading " + file.getFileName())
                .setInitialMax(lines.size())
                .setStyle(ProgressBarStyle.ASCII)
                .build()
            : null) {
      for (int i = 0; i < lines.size(); i++) {
        long number = i + 1;
        try {
          ProductEvent event = parser.parse(lines.get(i));
          if (event != null) {
            producer.send(
                new ProducerRecord<>(topic, event.getProductId(), event),
                (metadata, error) -> {
                  if (error != null) {
                    failedSends.incrementAndGet();
                    log.error("Could not publish line {} of {}", number, file, error);
                  }
                });
            published++;
            changes.merge(
                event.getProductId(),
                new io.lookalike.schemas.ChangeToken.Change(
                    event.getProductId(),
                    event.getVersion(),
                    event.getType() == io.lookalike.schemas.EventType.DELETE),
                (a, b) -> b.version() >= a.version() ? b : a);
          }
        } catch (IllegalArgumentException e) {
          invalid++;
          log.warn("Skipping line {} of {}: {}", number, file, e.getMessage());
        }
        if (bar != null) {
          bar.step();
        }
      }
      producer.flush();
    }
    Result result =
        new Result(
            published - failedSends.get(),
            invalid + failedSends.get(),
            changes.isEmpty()
                ? null
                : new io.lookalike.schemas.ChangeToken(List.copyOf(changes.values())).encode());
    log.info(
        "Published {} product events from {} to {} ({} invalid lines)",
        result.published(),
        file,
        topic,
        result.invalid());
    return result;
  }
}
