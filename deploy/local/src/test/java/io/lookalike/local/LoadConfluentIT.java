package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.lookalike.ingest.ProductEventDecoder;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.registry.ConfluentWireFormat;
import io.lookalike.schemas.registry.SchemaRegistryClient;
import io.lookalike.testkit.ApicurioRegistry;
import io.lookalike.testkit.KafkaBroker;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code lookalike load -Dvalue.format=confluent} against a real schema registry (Apicurio, from
 * the testkit) and a real broker.
 */
class LoadConfluentIT {

  private static ApicurioRegistry registry;
  private static KafkaBroker broker;

  @TempDir Path dir;

  private final PrintStream originalErr = System.err;
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeAll
  static void start() {
    registry = ApicurioRegistry.start(Path.of("target", "apicurio-registry-LoadConfluentIT.log"));
    broker = KafkaBroker.start();
    broker.createTopics(1, "load.events", "load.unreachable");
  }

  @AfterAll
  static void stop() {
    if (broker != null) {
      broker.close();
    }
    if (registry != null) {
      registry.close();
    }
  }

  @AfterEach
  void restore() {
    System.setErr(originalErr);
    System.clearProperty("lookalike.cwd");
  }

  private int load(String... args) throws Exception {
    Files.writeString(
        dir.resolve("catalog.jsonl"),
        "{\"productId\":\"p1\",\"version\":1,\"title\":\"One\",\"image\":\"http://127.0.0.1:1/1.jpg\"}\n"
            + "{\"productId\":\"p2\",\"version\":1,\"title\":\"Two\",\"image\":\"http://127.0.0.1:1/2.jpg\"}\n");
    System.setProperty("lookalike.cwd", dir.toString());
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    return new CommandLine(new Lookalike.Load()).execute(args);
  }

  @Test
  void shouldWriteTheConfluentWireFormatWithProductEventRegisteredUnderTheTopicsSubject()
      throws Exception {
    int exit =
        load(
            "-b",
            broker.bootstrapServers(),
            "--topic",
            "load.events",
            "-Dschema.registry.url=" + registry.url(),
            "-Dvalue.format=confluent",
            "catalog.jsonl");

    assertThat(exit).as(err.toString(StandardCharsets.UTF_8)).isZero();
    SchemaRegistryClient client =
        new SchemaRegistryClient(registry.url(), "", null, Duration.ofSeconds(30));
    int id = client.register("load.events-value", ProductEvent.getClassSchema());
    List<ConsumerRecord<String, byte[]>> records = readAll("load.events");
    assertThat(records).hasSize(2);
    assertThat(records)
        .allSatisfy(r -> assertThat(ConfluentWireFormat.schemaId(r.value())).isEqualTo(id));
    ProductEventDecoder decoder = new ProductEventDecoder(client);
    List<String> titles = new ArrayList<>();
    for (ConsumerRecord<String, byte[]> r : records) {
      titles.add(decoder.decode(r.value(), r.timestamp()).getProduct().getTitle());
    }
    assertThat(titles).containsExactly("One", "Two");
  }

  @Test
  void shouldFailWithOneLineAndWriteNothingWhenTheRegistryIsUnreachable() throws Exception {
    int exit =
        load(
            "-b",
            broker.bootstrapServers(),
            "--topic",
            "load.unreachable",
            "-Dschema.registry.url=http://127.0.0.1:1",
            "-Dvalue.format=confluent",
            "catalog.jsonl");

    assertThat(exit).isEqualTo(1);
    String message = err.toString(StandardCharsets.UTF_8).strip();
    assertThat(message)
        .startsWith("Cannot register ProductEvent under subject load.unreachable-value")
        .contains("cannot reach the schema registry at http://127.0.0.1:1");
    assertThat(message.lines()).hasSize(1);
    assertThat(readAll("load.unreachable")).isEmpty();
  }

  private static List<ConsumerRecord<String, byte[]>> readAll(String topic) {
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
            new StringDeserializer(),
            new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .collect(Collectors.toList());
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      return out;
    }
  }
}
