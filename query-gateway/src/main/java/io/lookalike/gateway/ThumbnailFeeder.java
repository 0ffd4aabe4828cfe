package io.lookalike.gateway;

import io.lookalike.schemas.ImageKey;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.registry.AvroValueSerde;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.lookalike.schemas.registry.RegistryUnavailableException;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@link Thumbnails} in step with {@code catalog.product-images}: reads the compacted topic
 * from the beginning (no consumer group: every gateway keeps its own copy) and then follows it; a
 * tombstone forgets the image. A record it cannot render is logged (with its schema id when it is
 * Confluent-framed) and counted in {@code lookalike.gateway.thumbnails.skipped}, then skipped: the
 * photo was already accepted by the fetcher, so this only costs that result its thumbnail. A schema
 * registry that cannot answer is never the record's fault: the feeder reads the record again with
 * back-off (2 s doubling to 30 s) until the registry answers, skipping nothing.
 */
public final class ThumbnailFeeder implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ThumbnailFeeder.class);

  private final KafkaConsumer<String, byte[]> consumer;
  private final String topic;
  private final Thumbnails thumbnails;
  private final Thread thread;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AvroValueSerde<ProductImage> serde;

  private final CountDownLatch closing = new CountDownLatch(1);
  private final MeterRegistry meters;

  private static final long REGISTRY_BACKOFF_MS = 2_000;
  private static final long REGISTRY_BACKOFF_MAX_MS = 30_000;

  /**
   * Reads {@code topic} with the stage's Kafka client settings ({@code bootstrap.servers} and any
   * other consumer setting such as {@code security.protocol}, {@code sasl.*}, {@code ssl.*}); the
   * feeder's own settings (no group, from the beginning, read_committed) win over the stage's.
   */
  public ThumbnailFeeder(Map<String, ?> kafkaSettings, String topic, Thumbnails thumbnails) {
    this(kafkaSettings, topic, thumbnails, new SimpleMeterRegistry());
  }

  /** As above, counting skipped records and registry retries in {@code meters}. */
  public ThumbnailFeeder(
      Map<String, ?> kafkaSettings, String topic, Thumbnails thumbnails, MeterRegistry meters) {
    this.meters = meters;
    this.consumer =
        new KafkaConsumer<>(
            consumerProperties(kafkaSettings),
            new StringDeserializer(),
            new ByteArrayDeserializer());
    this.topic = topic;
    this.thumbnails = thumbnails;
    // Reads the images in any Avro encoding; Confluent-framed ones through the stage's registry.
    this.serde =
        Serdes.productImageReader(
            new SchemaRegistryConfig(registrySettings(kafkaSettings)).clientOrNull());
    this.thread = new Thread(this::run, "thumbnail-feeder");
    this.thread.setDaemon(true);
  }

  /** The consumer settings: the stage's Kafka consumer settings, then the feeder's own. */
  static Map<String, Object> consumerProperties(Map<String, ?> kafkaSettings) {
    Map<String, Object> props = new HashMap<>();
    Set<String> names = ConsumerConfig.configNames();
    kafkaSettings.forEach(
        (key, value) -> {
          if (names.contains(key)) {
            props.put(key, value);
          }
        });
    // No consumer group: every gateway keeps its own copy and commits nothing.
    props.remove(ConsumerConfig.GROUP_ID_CONFIG);
    props.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "lookalike-gateway-thumbnails");
    // Waiting for the topic must never create it (it would lack cleanup.policy=compact).
    props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
    return props;
  }

  public ThumbnailFeeder start() {
    thread.start();
    return this;
  }

  /** The schema registry keys among the stage's settings. */
  private static Map<String, Object> registrySettings(Map<String, ?> settings) {
    Map<String, Object> out = new HashMap<>();
    Set<String> names = SchemaRegistryConfig.CONFIG_DEF.names();
    settings.forEach(
        (key, value) -> {
          if (names.contains(key)) {
            out.put(key, value);
          }
        });
    return out;
  }

  private void run() {
    try {
      List<TopicPartition> partitions = List.of();
      while (running.get() && partitions.isEmpty()) {
        partitions =
            consumer.partitionsFor(topic, Duration.ofSeconds(5)).stream()
                .map(p -> new TopicPartition(p.topic(), p.partition()))
                .toList();
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long backoffMs = REGISTRY_BACKOFF_MS;
      while (running.get()) {
        ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofSeconds(1));
        RegistryUnavailableException outage = null;
        for (TopicPartition partition : records.partitions()) {
          for (ConsumerRecord<String, byte[]> record : records.records(partition)) {
            try {
              apply(record, serde);
            } catch (RegistryUnavailableException e) {
              // Not the record's fault: this partition reads it again once the registry answers.
              // (Every partition of the batch is rewound to its first record not applied.)
              outage = e;
              log.warn(
                  "{}; {} at {}-{}@{} read again in {} ms",
                  e.getMessage(),
                  record.key(),
                  record.topic(),
                  record.partition(),
                  record.offset(),
                  backoffMs);
              consumer.seek(partition, record.offset());
              break;
            }
          }
        }
        if (outage == null) {
          backoffMs = REGISTRY_BACKOFF_MS;
          continue;
        }
        meters.counter("lookalike.gateway.thumbnails.registry.retries").increment();
        if (closing.await(backoffMs, TimeUnit.MILLISECONDS)) {
          break;
        }
        backoffMs = Math.min(backoffMs * 2, REGISTRY_BACKOFF_MAX_MS);
      }
    } catch (WakeupException e) {
      if (running.get()) {
        throw e;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.error(
          "Thumbnail feeder stopped: results keep their image URLs, new images get no thumbnail",
          e);
    } finally {
      consumer.close();
    }
  }

  private void apply(
      ConsumerRecord<String, byte[]> record,
      org.apache.kafka.common.serialization.Serde<ProductImage> serde) {
    try {
      ImageKey key = ImageKey.parse(record.key());
      if (record.value() == null) {
        thumbnails.remove(key);
        return;
      }
      ProductImage image = serde.deserializer().deserialize(record.topic(), record.value());
      ByteBuffer bytes = image.getBytes();
      if (bytes == null) {
        return; // claim check: the bytes live elsewhere
      }
      byte[] array = new byte[bytes.remaining()];
      bytes.duplicate().get(array);
      thumbnails.put(key, image.getSha256(), image.getMediaType(), array);
    } catch (RegistryUnavailableException e) {
      throw e;
    } catch (SerializationException e) {
      // An id the registry does not know, a fingerprint we do not know, corrupt bytes: named.
      meters.counter("lookalike.gateway.thumbnails.skipped", "reason", "avro").increment();
      log.warn(
          "No thumbnail for {} at {}-{}@{}: its value cannot be read ({}): {}",
          record.key(),
          record.topic(),
          record.partition(),
          record.offset(),
          ConfluentWireFormat.matches(record.value())
              ? "Confluent-framed, schema id " + ConfluentWireFormat.schemaId(record.value())
              : "not Confluent-framed",
          e.getMessage());
    } catch (RuntimeException e) {
      meters.counter("lookalike.gateway.thumbnails.skipped", "reason", "image").increment();
      log.warn(
          "No thumbnail for {} at {}-{}@{}: {}",
          record.key(),
          record.topic(),
          record.partition(),
          record.offset(),
          e.toString());
    }
  }

  @Override
  public void close() {
    running.set(false);
    closing.countDown();
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
