package io.lookalike.embedder;

import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.Embedder;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.Serdes;
import io.lookalike.testkit.KafkaBroker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Throughput of the embedder: raw {@link DjlEmbedder} at batch 1 and 32, and the Streams app on a
 * real in-process broker, on the same sample photos. Run it with {@code ./mvnw -o -q -pl
 * embedder-stream test-compile exec:java -Dbench=io.lookalike.embedder.EmbedderBench} (add {@code
 * -Dbench.images=N} to change the 200 photos, {@code -Dai.djl.pytorch.num_threads=N} to try other
 * thread counts).
 */
public final class EmbedderBench {

  private static final int STREAM_BATCH = Integer.getInteger("bench.batch", 8);

  public static void main(String[] args) throws Exception {
    int count = Integer.getInteger("bench.images", 200);
    List<ProductImage> images = EmbedderAppIT.sampleImages(count);
    List<byte[]> bytes = images.stream().map(i -> i.getBytes().array()).toList();

    long start = System.nanoTime();
    for (byte[] b : bytes) {
      ImageIO.read(new java.io.ByteArrayInputStream(b));
    }
    double decode = rate(count, start);
    try (DjlEmbedder embedder = DjlEmbedder.loadDefault()) {
      System.out.printf(
          "%d photos, %d KiB on average, %d cores, PyTorch intra-op threads %s, graph optimizer %s%n",
          count,
          bytes.stream().mapToInt(b -> b.length).sum() / count / 1024,
          Runtime.getRuntime().availableProcessors(),
          System.getProperty("ai.djl.pytorch.num_threads"),
          System.getProperty("ai.djl.pytorch.graph_optimizer", "on"));
      for (int i = 0; i < 3; i++) { // warm-up, both shapes
        embedder.embed(bytes.subList(0, 32));
        embedder.embed(bytes.subList(0, 1));
      }
      start = System.nanoTime();
      for (byte[] b : bytes) {
        embedder.embed(List.of(b));
      }
      double batch1 = rate(count, start);
      double batch8 = batchRate(embedder, bytes, 8);
      double batch32 = batchRate(embedder, bytes, 32);
      double stream =
          Boolean.parseBoolean(System.getProperty("bench.stream", "true"))
              ? streamRate(embedder, images)
              : 0;
      System.out.printf("JPEG decode alone (ImageIO):  %7.1f images/s%n", decode);
      System.out.printf("DjlEmbedder batch 1:          %7.1f images/s%n", batch1);
      System.out.printf("DjlEmbedder batch 8:           %7.1f images/s%n", batch8);
      System.out.printf("DjlEmbedder batch 32:         %7.1f images/s%n", batch32);
      double raw =
          STREAM_BATCH == 1
              ? batch1
              : STREAM_BATCH == 8
                  ? batch8
                  : STREAM_BATCH == 32 ? batch32 : batchRate(embedder, bytes, STREAM_BATCH);
      System.out.printf(
          "embedder-stream end to end, embed.batch.max.size=%d: %7.1f images/s (%.0f %% of raw at that batch, "
              + "%.0f %% of the best raw rate)%n",
          STREAM_BATCH,
          stream,
          100 * stream / raw,
          100 * stream / Math.max(batch1, Math.max(batch8, batch32)));
    }
    System.exit(0);
  }

  /** From the first record sent to the last embedding read (read_committed). */
  private static double streamRate(DjlEmbedder embedder, List<ProductImage> images)
      throws Exception {
    Path state = Files.createTempDirectory("embedder-bench");
    try (KafkaBroker broker = KafkaBroker.start()) {
      Map<String, Object> config = new HashMap<>();
      config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
      config.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
      config.put(EmbedderConfig.BATCH_MAX_SIZE_CONFIG, STREAM_BATCH);
      config.put(
          StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Integer.getInteger("bench.commit.ms", 100));
      EmbedderConfig embedderConfig = new EmbedderConfig(config);
      String input = embedderConfig.topics().productImages();
      String output = embedderConfig.topics().embeddings(embedder.model().modelId());
      broker.createCompactedTopics(
          1, input, output, embedderConfig.topics().embeddingCache(embedder.model().modelId()));
      broker.createTopics(1, embedderConfig.topics().deadLetters());
      Properties props = broker.clientProperties();
      props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      props.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-reader");
      props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 << 20);
      try (EmbedderApp app = new EmbedderApp(config, embedder, new SimpleMeterRegistry());
          KafkaProducer<String, byte[]> producer =
              new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
          KafkaConsumer<String, byte[]> consumer =
              new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
        app.start();
        consumer.subscribe(List.of(output));
        while (app.streams().state() != KafkaStreams.State.RUNNING
            || consumer.assignment().isEmpty()) {
          consumer.poll(Duration.ofMillis(100));
        }
        long start = System.nanoTime();
        for (ProductImage image : images) {
          producer.send(
              new ProducerRecord<>(
                  input,
                  image.getProductId() + "/" + image.getImageId(),
                  Serdes.productImage().serialize(image)));
        }
        producer.flush();
        Set<String> seen = new HashSet<>();
        while (seen.size() < images.size()) {
          consumer.poll(Duration.ofMillis(100)).forEach(r -> seen.add(r.key()));
          if (System.nanoTime() - start > 600e9) {
            throw new IllegalStateException("Only " + seen.size() + " embeddings after 10 minutes");
          }
        }
        return rate(images.size(), start);
      }
    }
  }

  private static double batchRate(Embedder embedder, List<byte[]> bytes, int batch) {
    long start = System.nanoTime();
    for (int from = 0; from < bytes.size(); from += batch) {
      embedder.embed(bytes.subList(from, Math.min(bytes.size(), from + batch)));
    }
    return rate(bytes.size(), start);
  }

  private static double rate(int count, long startNanos) {
    return count / ((System.nanoTime() - startNanos) / 1e9);
  }

  private EmbedderBench() {}
}
