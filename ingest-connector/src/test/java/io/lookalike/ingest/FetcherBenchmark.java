package io.lookalike.ingest;

import static io.lookalike.ingest.FetcherTopologyTest.metadata;
import static io.lookalike.ingest.FetcherTopologyTest.upsert;

import com.sun.net.httpserver.HttpServer;
import io.lookalike.schemas.ImageRef;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Fetcher throughput against a local image server that adds 50 ms of latency per image: images/s
 * end to end (event produced to image record committed) for several fetch concurrencies, and the
 * highest number of images in flight seen. Args: [images per run] [photo|tiny] [concurrencies...].
 */
public final class FetcherBenchmark {

  public static void main(String[] args) throws Exception {
    int images = args.length > 0 ? Integer.parseInt(args[0]) : 400;
    boolean tiny = args.length > 1 && args[1].equals("tiny");
    List<Integer> concurrencies =
        args.length > 2
            ? java.util.Arrays.stream(args).skip(2).map(Integer::parseInt).toList()
            : List.of(1, 8, 32, 64);
    List<SampleImages.Photo> photos = SampleImages.photos("validation", 20);
    byte[] tinyJpeg = tinyJpeg();

    // The JDK server leaves Nagle on by default: with delayed ACKs that adds ~40 ms to every
    // response.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 200);
    server.setExecutor(Executors.newCachedThreadPool());
    server.createContext(
        "/",
        ex -> {
          try {
            Thread.sleep(50);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          int n = Integer.parseInt(ex.getRequestURI().getPath().replaceAll("\\D", ""));
          byte[] body = tiny ? tinyJpeg : photos.get(n % photos.size()).bytes();
          ex.sendResponseHeaders(200, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    server.start();
    String base = "http://127.0.0.1:" + server.getAddress().getPort() + "/img/";
    Path state = Files.createTempDirectory("fetcher-bench");
    Topics topics = Topics.defaults();
    try (KafkaBroker broker = KafkaBroker.start()) {
      System.out.printf(
          "%d images per run, %s, 50 ms latency per image, %d cores%n",
          images,
          tiny
              ? "32x32 JPEGs"
              : "real photos (avg "
                  + photos.stream().mapToInt(p -> p.bytes().length).sum() / photos.size() / 1024
                  + " KiB)",
          Runtime.getRuntime().availableProcessors());
      for (int concurrency : concurrencies) {
        String suffix = "-c" + concurrency;
        Topics t =
            new Topics(
                topics.productEvents() + suffix,
                topics.productImages() + suffix,
                topics.deadLetters() + suffix,
                topics.embeddingsPrefix(),
                topics.embeddingCachePrefix());
        broker.createTopics(4, t.productEvents(), t.deadLetters());
        broker.createCompactedTopics(4, t.productImages());
        Map<String, Object> config = new HashMap<>();
        config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        config.put(StreamsConfig.STATE_DIR_CONFIG, state.resolve("c" + concurrency).toString());
        config.put(StreamsConfig.APPLICATION_ID_CONFIG, "bench" + suffix);
        config.put(Topics.PRODUCT_EVENTS_CONFIG, t.productEvents());
        config.put(Topics.PRODUCT_IMAGES_CONFIG, t.productImages());
        config.put(Topics.DEAD_LETTERS_CONFIG, t.deadLetters());
        config.put(FetcherConfig.FETCH_ALLOWED_HOSTS_CONFIG, "127.0.0.1");
        config.put(FetcherConfig.FETCH_CONCURRENCY_CONFIG, concurrency);
        config.put(FetcherConfig.FETCH_MAX_PER_HOST_CONFIG, concurrency);
        config.put(FetcherConfig.FETCH_PIPELINE_MAX_EVENTS_CONFIG, Math.max(1, concurrency));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (FetcherApp app = new FetcherApp(config, registry);
            KafkaProducer<String, ProductEvent> producer =
                new KafkaProducer<>(
                    Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                    new StringSerializer(),
                    Serdes.productEvent().serializer());
            KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(
                    Map.of(
                        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                        broker.bootstrapServers(),
                        ConsumerConfig.GROUP_ID_CONFIG,
                        "bench-check" + suffix,
                        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                        "earliest",
                        ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                        "read_committed"),
                    new ByteArrayDeserializer(),
                    new ByteArrayDeserializer())) {
          app.start();
          consumer.subscribe(List.of(t.productImages()));
          // wait for the app to be running before timing
          while (app.streams().state() != org.apache.kafka.streams.KafkaStreams.State.RUNNING) {
            Thread.sleep(50);
          }
          long start = System.nanoTime();
          for (int i = 0; i < images; i++) {
            producer.send(
                new ProducerRecord<>(
                    t.productEvents(),
                    "p" + i,
                    upsert(
                        "p" + i, 1, metadata("bench"), new ImageRef("0", base + i + ".jpg", 0))));
          }
          producer.flush();
          int seen = 0;
          double peak = 0;
          while (seen < images) {
            seen += consumer.poll(Duration.ofMillis(20)).count();
            peak =
                Math.max(peak, registry.get("lookalike.fetcher.images.in.flight").gauge().value());
            if (Duration.ofNanos(System.nanoTime() - start).toSeconds() > 300) {
              throw new IllegalStateException("only " + seen + " images after 300 s");
            }
          }
          double seconds = (System.nanoTime() - start) / 1e9;
          System.out.printf(
              "concurrency %3d: %6.1f images/s (%d in %.1f s), peak in flight %.0f, mean fetch %.0f ms%n",
              concurrency,
              images / seconds,
              images,
              seconds,
              peak,
              registry
                  .get("lookalike.fetcher.fetch")
                  .timer()
                  .mean(java.util.concurrent.TimeUnit.MILLISECONDS));
        }
      }
    } finally {
      server.stop(0);
    }
    System.exit(0);
  }

  private static byte[] tinyJpeg() throws Exception {
    BufferedImage image = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "jpeg", out);
    return out.toByteArray();
  }
}
