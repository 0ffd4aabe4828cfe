package io.lookalike.lifecycle;

import io.lookalike.gateway.ActiveModel;
import io.lookalike.image.NearDuplicates;
import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.lookalike.schemas.registry.RegistryUnavailableException;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.store.SearchFilter;
import io.lookalike.store.SearchHit;
import io.lookalike.store.VectorStore;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The check before a switch. It samples live images from {@code product-images} (the compacted
 * topic holds the current bytes of every live image) that the candidate index holds, makes a
 * near-duplicate of each ({@link NearDuplicates}: what a shopper's photo of the product looks
 * like), and asks:
 *
 * <ul>
 *   <li><b>near-duplicate recall@1</b>: the share of altered copies, embedded with the candidate
 *       model, whose top product in the candidate index is their own product;
 *   <li><b>agreement@1</b>: the share of the same queries whose top product is the same in the
 *       candidate index (query embedded with the candidate model) and in the current index (query
 *       embedded with the current model); and the mean overlap of their top-10 product sets (|A ∩
 *       B| / 10).
 * </ul>
 *
 * Recall is what the gate enforces; agreement tells how much the storefront's results will change.
 */
public final class QualityGate {

  private static final Logger log = LoggerFactory.getLogger(QualityGate.class);
  private static final int TOP = 10;
  private static final int BATCH = 16;

  /** The gate's numbers; {@code misses} names up to 10 sampled images not found first. */
  public record Result(
      String modelId,
      String currentModelId,
      int sampled,
      int found,
      double nearDuplicateRecall,
      int agreed,
      double agreement,
      double top10Overlap,
      long tookMs,
      List<String> misses,
      ShopperChecks.Result shopper) {}

  private QualityGate() {}

  /**
   * Runs the check of {@code candidate} against {@code current} on up to {@code sample} live
   * images, picked with {@code seed}.
   */
  public static Result check(
      String bootstrapServers,
      String productImagesTopic,
      ActiveModel candidate,
      ActiveModel current,
      int sample,
      long seed) {
    return check(
        bootstrapServers,
        productImagesTopic,
        candidate,
        current,
        sample,
        seed,
        ShopperChecks.DEFAULT_FIELD);
  }

  /**
   * As above, with category precision measured on the metadata field {@code field} (ShopperChecks).
   */
  public static Result check(
      String bootstrapServers,
      String productImagesTopic,
      ActiveModel candidate,
      ActiveModel current,
      int sample,
      long seed,
      String field) {
    return check(
        bootstrapServers, productImagesTopic, candidate, current, sample, seed, field, null);
  }

  /**
   * As above, reading Confluent-framed product images through {@code registry} (null: none).
   *
   * @throws io.lookalike.schemas.registry.RegistryUnavailableException the registry cannot be asked
   *     now: no check on a smaller sample than asked
   */
  public static Result check(
      String bootstrapServers,
      String productImagesTopic,
      ActiveModel candidate,
      ActiveModel current,
      int sample,
      long seed,
      String field,
      SchemaRegistryClient registry) {
    long t0 = System.nanoTime();
    List<ProductImage> images =
        sampleLiveImages(
            bootstrapServers, productImagesTopic, candidate.store(), sample, seed, registry);
    int found = 0;
    int agreed = 0;
    double overlap = 0;
    int n = 0;
    List<String> misses = new ArrayList<>();
    for (int from = 0; from < images.size(); from += BATCH) {
      if (Thread.currentThread()
          .isInterrupted()) { // cancelled: its client left or its budget is spent
        throw new java.util.concurrent.CancellationException("quality check cancelled");
      }
      List<ProductImage> slice = images.subList(from, Math.min(images.size(), from + BATCH));
      List<byte[]> queries = new ArrayList<>();
      List<ProductImage> kept = new ArrayList<>();
      for (ProductImage image : slice) {
        try {
          queries.add(NearDuplicates.of(bytes(image)));
          kept.add(image);
        } catch (RuntimeException e) {
          log.debug(
              "Skipping {}/{} in the quality gate: {}",
              image.getProductId(),
              image.getImageId(),
              e.toString());
        }
      }
      List<float[]> byCandidate = embed(candidate.embedder(), queries);
      List<float[]> byCurrent = embed(current.embedder(), queries);
      for (int i = 0; i < kept.size(); i++) {
        if (byCandidate.get(i) == null || byCurrent.get(i) == null) {
          continue;
        }
        n++;
        String productId = kept.get(i).getProductId();
        List<String> mine = topProducts(candidate.store(), byCandidate.get(i));
        List<String> theirs = topProducts(current.store(), byCurrent.get(i));
        if (!mine.isEmpty() && mine.get(0).equals(productId)) {
          found++;
        } else if (misses.size() < 10) {
          misses.add(productId + " -> " + (mine.isEmpty() ? "nothing" : mine.get(0)));
        }
        if (!mine.isEmpty() && !theirs.isEmpty() && mine.get(0).equals(theirs.get(0))) {
          agreed++;
        }
        Set<String> common = new HashSet<>(mine);
        common.retainAll(theirs);
        overlap += common.size() / (double) TOP;
      }
    }
    List<ShopperChecks.Sampled> sampled = new ArrayList<>();
    for (ProductImage image : images) {
      if (image.getBytes() != null) {
        sampled.add(
            new ShopperChecks.Sampled(
                new ImageKey(image.getProductId(), image.getImageId()), bytes(image)));
      }
    }
    ShopperChecks.Result shopper = ShopperChecks.measure(sampled, candidate, current, field);
    long tookMs = (System.nanoTime() - t0) / 1_000_000;
    Result result =
        new Result(
            candidate.modelId(),
            current.modelId(),
            n,
            found,
            n == 0 ? 0 : found / (double) n,
            agreed,
            n == 0 ? 0 : agreed / (double) n,
            n == 0 ? 0 : overlap / n,
            tookMs,
            misses,
            shopper);
    log.info(
        "Quality gate of {} against {}: near-duplicate recall@1 {}/{}, agreement@1 {}/{}, top-10 overlap {} ({} ms)",
        result.modelId(),
        result.currentModelId(),
        found,
        n,
        agreed,
        n,
        String.format("%.2f", result.top10Overlap()),
        tookMs);
    return result;
  }

  /** Best product first, each once, up to {@link #TOP}. */
  private static List<String> topProducts(VectorStore store, float[] query) {
    Set<String> products = new LinkedHashSet<>();
    for (SearchHit hit : store.search(query, TOP * 4, SearchFilter.NONE)) {
      products.add(hit.image().productId());
      if (products.size() == TOP) {
        break;
      }
    }
    return new ArrayList<>(products);
  }

  private static List<float[]> embed(Embedder embedder, List<byte[]> photos) {
    List<float[]> out = new ArrayList<>();
    if (photos.isEmpty()) {
      return out;
    }
    for (EmbeddingResult result : embedder.embed(photos)) {
      out.add(result instanceof EmbeddingResult.Vector v ? v.values() : null);
    }
    return out;
  }

  private static byte[] bytes(ProductImage image) {
    if (image.getBytes() == null) {
      throw new IllegalArgumentException("bytes not inline (claim check)");
    }
    var buffer = image.getBytes().duplicate();
    byte[] out = new byte[buffer.remaining()];
    buffer.get(out);
    return out;
  }

  /**
   * Reads the topic to its end twice: first the position of each key's newest record (tombstones
   * remove it), then the bytes of the sampled ones only, so memory holds {@code sample} images at
   * most.
   */
  public static List<ProductImage> sampleLiveImages(
      String bootstrapServers, String topic, VectorStore indexed, int sample, long seed) {
    return sampleLiveImages(bootstrapServers, topic, indexed, sample, seed, null);
  }

  /** As above; Confluent-framed images are read through {@code registry} (null: none). */
  public static List<ProductImage> sampleLiveImages(
      String bootstrapServers,
      String topic,
      VectorStore indexed,
      int sample,
      long seed,
      SchemaRegistryClient registry) {
    Map<String, Object> props = new HashMap<>();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      Map<String, Long> newest = new HashMap<>(); // key -> partition << 48 | offset
      readToEnd(
          consumer,
          partitions,
          ends,
          record -> {
            String key = new String(record.key(), StandardCharsets.UTF_8);
            if (record.value() == null) {
              newest.remove(key);
            } else {
              newest.put(key, ((long) record.partition() << 48) | record.offset());
            }
          });
      List<String> live = new ArrayList<>(newest.keySet());
      Collections.sort(live);
      Collections.shuffle(live, new Random(seed));
      Set<Long> wanted = new HashSet<>();
      for (String key : live) {
        if (wanted.size() >= sample) {
          break;
        }
        ImageKey imageKey;
        try {
          imageKey = ImageKey.parse(key);
        } catch (IllegalArgumentException e) {
          continue;
        }
        if (indexed.get(imageKey).isPresent()) {
          wanted.add(newest.get(key));
        }
      }
      List<ProductImage> images = new ArrayList<>();
      var serde = Serdes.productImageReader(registry);
      readToEnd(
          consumer,
          partitions,
          ends,
          record -> {
            if (wanted.contains(((long) record.partition() << 48) | record.offset())) {
              try {
                images.add(serde.deserialize(record.value()));
              } catch (RegistryUnavailableException e) {
                throw e;
              } catch (RuntimeException e) {
                // the record's own fault (an id the registry does not know, corrupt bytes):
                // named, and the result's sampled count shows it
                log.warn(
                    "Quality gate: skipping {} at {}-{}@{}, its value cannot be read ({}): {}",
                    new String(record.key(), StandardCharsets.UTF_8),
                    record.topic(),
                    record.partition(),
                    record.offset(),
                    ConfluentWireFormat.matches(record.value())
                        ? "Confluent-framed, schema id "
                            + ConfluentWireFormat.schemaId(record.value())
                        : "not Confluent-framed",
                    e.getMessage());
              }
            }
          });
      return images;
    }
  }

  private static void readToEnd(
      KafkaConsumer<byte[], byte[]> consumer,
      List<TopicPartition> partitions,
      Map<TopicPartition, Long> ends,
      java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
    consumer.seekToBeginning(partitions);
    long deadline = System.currentTimeMillis() + 120_000;
    while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("Could not read " + partitions + " to its end in time");
      }
      for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
        if (record.offset() < ends.get(new TopicPartition(record.topic(), record.partition()))
            && record.key() != null) {
          each.accept(record);
        }
      }
    }
  }
}
