package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.ProductMetadata;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.Topics;
import io.lookalike.testkit.KafkaBroker;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.SampleImages.Photo;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code lookalike train} on a real broker: real clothing-small photos on catalog.product-images
 * (one deleted, one without a category), exported by category, trained a few steps with Debian's
 * torch; the loss falls and the model loads in the embedder. Skipped where /usr/bin/python3 has no
 * torch (.ci/run installs it).
 */
class TrainCommandIT {

  @TempDir Path dir;

  @Test
  void shouldExportTheCatalogByCategoryAndTrainAModelTheEmbedderLoads() throws Exception {
    assumeTrue(
        TrainCommand.hasTorch(Path.of("/usr/bin/python3")),
        "/usr/bin/python3 with torch, torchvision and PIL is needed");
    List<Photo> photos = SampleImages.photos("train", 12);
    try (KafkaBroker kafka = KafkaBroker.start()) {
      kafka.createCompactedTopics(2, Topics.DEFAULT_PRODUCT_IMAGES);
      Properties props = kafka.clientProperties();
      var serde = Serdes.productImage();
      try (KafkaProducer<String, byte[]> producer =
          new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
        for (int i = 0; i < photos.size(); i++) {
          Photo photo = photos.get(i);
          ProductImage image = image("p" + i, photo.category(), photo.bytes());
          producer.send(record("p" + i, serde.serializer().serialize("t", image)));
        }
        // deleted later: not exported
        producer.send(
            record(
                "gone",
                serde.serializer().serialize("t", image("gone", "Gone", photos.get(0).bytes()))));
        producer.send(record("gone", null));
        // no category: not exported, counted
        producer.send(
            record(
                "nocat",
                serde.serializer().serialize("t", image("nocat", null, photos.get(1).bytes()))));
        producer.flush();
      }

      Path out = dir.resolve("adapted.pt");
      Path images = dir.resolve("images");
      Path repo = Path.of(System.getProperty("lookalike.repo.dir", ".."));
      StringWriter stdout = new StringWriter();
      StringWriter stderr = new StringWriter();
      CommandLine cmd = Lookalike.commandLine(false);
      cmd.setOut(new PrintWriter(stdout, true));
      cmd.setErr(new PrintWriter(stderr, true));
      int exit =
          cmd.execute(
              "train",
              "-b",
              kafka.bootstrapServers(),
              "--out",
              out.toString(),
              "--work-dir",
              images.toString(),
              "--script",
              repo.resolve("models/train/adapt.py").toString(),
              "--steps",
              "30",
              "--views",
              "3",
              "--dim",
              "32");
      String log = stdout + "\n" + stderr;
      System.out.println(log);

      assertThat(exit).as(log).isZero();
      try (Stream<Path> labels = Files.list(images)) {
        assertThat(labels.filter(Files::isDirectory).map(p -> p.getFileName().toString()))
            .containsExactlyInAnyOrderElementsOf(
                photos.stream().map(p -> TrainCommand.safe(p.category())).distinct().toList());
      }
      assertThat(log)
          .contains("Exported 12 photos of 12 products")
          .contains("(1 without category skipped)");
      Matcher m = Pattern.compile("first loss ([0-9.]+) last loss ([0-9.]+)").matcher(log);
      assertThat(m.find()).as(log).isTrue();
      assertThat(Double.parseDouble(m.group(2))).isLessThan(Double.parseDouble(m.group(1)));
      assertThat(log).contains("lookalike reembed --model " + out.toAbsolutePath().normalize());
      try (DjlEmbedder embedder = DjlEmbedder.load(EmbeddingModelConfig.of(out.toString()))) {
        assertThat(embedder.model().dimension()).isEqualTo(32);
        EmbeddingResult result = embedder.embed(List.of(photos.get(0).bytes())).get(0);
        assertThat(((EmbeddingResult.Vector) result).values()).hasSize(32);
      }
    }
  }

  @Test
  void shouldRefuseAWrongOptionValueNamingIt() {
    StringWriter stderr = new StringWriter();
    CommandLine cmd = Lookalike.commandLine(false);
    cmd.setErr(new PrintWriter(stderr, true));
    int exit = cmd.execute("train", "--out", dir.resolve("x.pt").toString(), "--views", "9");
    assertThat(exit).isNotZero();
    assertThat(stderr.toString()).contains("--views must be between 1 and 6, got 9");
  }

  @Test
  void shouldRefuseAWorkDirItDidNotWrite() throws Exception {
    assumeTrue(TrainCommand.hasTorch(Path.of("/usr/bin/python3")), "torch is needed");
    Path images = Files.createDirectories(dir.resolve("mine"));
    Files.writeString(images.resolve("notes.txt"), "keep me");
    Path repo = Path.of(System.getProperty("lookalike.repo.dir", ".."));
    StringWriter stderr = new StringWriter();
    CommandLine cmd = Lookalike.commandLine(false);
    cmd.setErr(new PrintWriter(stderr, true));
    int exit =
        cmd.execute(
            "train",
            "--out",
            dir.resolve("x.pt").toString(),
            "--work-dir",
            images.toString(),
            "--script",
            repo.resolve("models/train/adapt.py").toString());
    assertThat(exit).isNotZero();
    assertThat(stderr.toString()).contains("--work-dir " + images + " is not empty");
    assertThat(images.resolve("notes.txt")).hasContent("keep me");
  }

  private static ProducerRecord<String, byte[]> record(String productId, byte[] value) {
    return new ProducerRecord<>(Topics.DEFAULT_PRODUCT_IMAGES, productId + "/front", value);
  }

  private static ProductImage image(String productId, String category, byte[] bytes) {
    return ProductImage.newBuilder()
        .setProductId(productId)
        .setImageId("front")
        .setVersion(1)
        .setOccurredAt(Instant.parse("2026-01-02T03:04:05Z"))
        .setSourceUrl("file:/unused.jpg")
        .setPosition(0)
        .setSha256("sha-" + productId)
        .setMediaType("image/jpeg")
        .setSizeBytes(bytes.length)
        .setWidth(1)
        .setHeight(1)
        .setBytes(ByteBuffer.wrap(bytes))
        .setBytesRef(null)
        .setProduct(ProductMetadata.newBuilder().setTitle(productId).setCategory(category).build())
        .build();
  }
}
