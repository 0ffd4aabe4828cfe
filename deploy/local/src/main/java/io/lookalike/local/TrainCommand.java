package io.lookalike.local;

import io.lookalike.schemas.ProductImage;
import io.lookalike.schemas.Serdes;
import io.lookalike.schemas.registry.SchemaRegistryConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code lookalike train}: exports the catalog's photos from catalog.product-images into one
 * directory per label and runs models/train/adapt.py on them; its TorchScript file is what {@code
 * lookalike reembed --model} then switches to.
 */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Adapts the embedding to the catalog the pipeline holds (metric learning).",
      "",
      "Reads catalog.product-images from the beginning to its end (read_committed, the",
      "newest image of each key, deletions dropped), writes every photo to",
      "--work-dir/<label>/<imageId>.jpg, the label being the product's --label-field",
      "(category, brand, title or an attribute name); products without it are skipped",
      "(counted). Then runs /usr/bin/python3 models/train/adapt.py (Debian's",
      "python3-torch python3-torchvision python3-pil) on that directory: a head on the",
      "frozen backbone, trained on the labels and on augmented views of each photo",
      "(crop, overlay, pasted into a scene, rotation, mirror), written with the backbone",
      "as one TorchScript file, --out. Then: lookalike reembed --model OUT."
    },
    footer = {
      "",
      "Examples:",
      "  lookalike train --out models/next/next.pt",
      "  lookalike train -b kafka:9092 --label-field brand --steps 600 --dim 256 --out v7.pt"
    })
final class TrainCommand implements Callable<Integer> {

  /** Exit code when the export or the training fails. */
  static final int FAILED = 1;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description = "Where the TorchScript model is written.")
  Path out;

  @Option(
      names = "--label-field",
      defaultValue = "category",
      description =
          "Product metadata field the label comes from: category, brand, title, or an attribute"
              + " name (default: ${DEFAULT-VALUE}).")
  String labelField;

  @Option(
      names = "--work-dir",
      paramLabel = "DIR",
      description =
          "Where the photos are exported, one sub-directory per label (default: --out's name +"
              + " .images).")
  Path workDir;

  @Option(
      names = "--steps",
      defaultValue = "300",
      description = "Training steps (0: PCA-whitening only; default: ${DEFAULT-VALUE}).")
  int steps;

  @Option(
      names = "--dim",
      defaultValue = "512",
      description = "Size of the vectors (default: ${DEFAULT-VALUE}).")
  int dim;

  @Option(
      names = "--views",
      defaultValue = "6",
      description = "Augmented views per photo, 1..6 (default: ${DEFAULT-VALUE}).")
  int views;

  @Option(
      names = "--lr",
      defaultValue = "0.001",
      description = "Learning rate (default: ${DEFAULT-VALUE}).")
  double lr;

  @Option(
      names = "--min-labels",
      defaultValue = "2",
      description = "Fewest distinct labels to train on (default: ${DEFAULT-VALUE}).")
  int minLabels;

  @Option(
      names = "--python",
      defaultValue = "/usr/bin/python3",
      description = "The python with torch (default: ${DEFAULT-VALUE}).")
  Path python;

  @Option(
      names = "--script",
      defaultValue = "models/train/adapt.py",
      description = "The training script, in the repository (default: ${DEFAULT-VALUE}).")
  Path script;

  @Option(
      names = "--read-timeout-s",
      defaultValue = "600",
      hidden = true,
      description = "Longest to read the topic to its end.")
  long readTimeoutS;

  @Mixin StageCommands.Common cluster;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter stdout = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    check(steps >= 0, "--steps must not be negative, got " + steps);
    check(dim >= 1, "--dim must be at least 1, got " + dim);
    check(views >= 1 && views <= 6, "--views must be between 1 and 6, got " + views);
    check(lr > 0 && Double.isFinite(lr), "--lr must be positive, got " + lr);
    check(minLabels >= 1, "--min-labels must be at least 1, got " + minLabels);
    check(!labelField.isBlank(), "--label-field must not be blank");
    if (!Files.isRegularFile(script)) {
      err.printf(
          "No training script at %s: run from the repository root, or give --script.%n",
          script.toAbsolutePath());
      return FAILED;
    }
    if (!hasTorch(python)) {
      err.printf(
          "%s cannot import torch, torchvision and PIL: install Debian's python3-torch"
              + " python3-torchvision python3-pil (apt-get install python3-torch"
              + " python3-torchvision python3-pil), or give --python.%n",
          python);
      return FAILED;
    }
    Path images = workDir != null ? workDir : out.resolveSibling(out.getFileName() + ".images");
    Export export = export(images, stdout);
    stdout.printf(
        Locale.ROOT,
        "Exported %d photos of %d products in %d labels to %s (%d without %s skipped).%n",
        export.photos,
        export.products,
        export.labels.size(),
        images,
        export.unlabelled,
        labelField);
    export.labels.forEach((label, n) -> stdout.printf("  %-30s %d%n", label, n));
    stdout.flush();
    if (export.labels.size() < minLabels) {
      err.printf(
          "Only %d label(s) in --label-field %s: need at least %d (--min-labels).%n",
          export.labels.size(), labelField, minLabels);
      return FAILED;
    }
    List<String> cmd =
        new ArrayList<>(
            List.of(
                python.toString(),
                script.toString(),
                "--images",
                images.toString(),
                "--out",
                out.toString(),
                "--steps",
                Integer.toString(steps),
                "--dim",
                Integer.toString(dim),
                "--views",
                Integer.toString(views),
                "--lr",
                Double.toString(lr)));
    stdout.println("Training: " + String.join(" ", cmd));
    stdout.flush();
    Process process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try (BufferedReader lines =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = lines.readLine()) != null; ) {
        stdout.println(line);
        stdout.flush();
      }
    }
    int rc = process.waitFor();
    if (rc != 0 || !Files.isRegularFile(out)) {
      err.printf("Training failed (%s exited with %d).%n", script, rc);
      return FAILED;
    }
    stdout.printf(
        "Wrote %s. Switch search to it with:%n  lookalike reembed --model %s%n",
        out, out.toAbsolutePath().normalize());
    return 0;
  }

  private void check(boolean ok, String message) {
    if (!ok) {
      throw new ParameterException(spec.commandLine(), message);
    }
  }

  static boolean hasTorch(Path python) {
    try {
      Process p =
          new ProcessBuilder(python.toString(), "-c", "import torch, torchvision, PIL")
              .redirectErrorStream(true)
              .start();
      p.getInputStream().readAllBytes();
      return p.waitFor() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** What the export wrote. */
  static final class Export {
    final Map<String, Integer> labels = new TreeMap<>();
    int photos;
    int products;
    int unlabelled;
  }

  /**
   * One pass over the topic: each key's newest photo goes to disk (a newer one or a tombstone
   * replaces or removes it), so memory holds one record at a time.
   */
  private Export export(Path images, PrintWriter stdout) throws IOException {
    prepare(images);
    String topic = cluster.topics().productImages();
    Map<String, Object> props = new HashMap<>(cluster.adminConfig());
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024);
    var serde =
        Serdes.productImageReader(new SchemaRegistryConfig(cluster.config()).clientOrNull());
    Map<String, Path> written = new HashMap<>();
    Map<String, String> productOf = new HashMap<>();
    java.util.Set<String> unlabelled = new java.util.HashSet<>();
    int skipped = 0;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      long total = ends.values().stream().mapToLong(Long::longValue).sum();
      consumer.seekToBeginning(partitions);
      long deadline = System.currentTimeMillis() + readTimeoutS * 1000;
      long read = 0;
      long lastShown = 0;
      while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
        if (System.currentTimeMillis() > deadline) {
          throw new IOException("Could not read " + topic + " to its end in time");
        }
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          if (record.offset() >= ends.get(new TopicPartition(topic, record.partition()))
              || record.key() == null) {
            continue;
          }
          read++;
          String key = new String(record.key(), StandardCharsets.UTF_8);
          Path old = written.remove(key);
          productOf.remove(key);
          unlabelled.remove(key);
          if (old != null) {
            Files.deleteIfExists(old);
          }
          if (record.value() == null) {
            continue;
          }
          ProductImage image;
          try {
            image = serde.deserialize(record.value());
          } catch (RuntimeException e) {
            stdout.printf("  skipping %s: its value cannot be read (%s)%n", key, e.getMessage());
            skipped++;
            continue;
          }
          String label = label(image);
          if (label == null) {
            unlabelled.add(key);
            continue;
          }
          if (image.getBytes() == null) {
            continue; // bytes behind a claim check: not exported
          }
          Path dir = Files.createDirectories(images.resolve(safe(label)));
          Path file = dir.resolve(safe(image.getProductId() + "_" + image.getImageId()) + ".jpg");
          var buffer = image.getBytes().duplicate();
          byte[] bytes = new byte[buffer.remaining()];
          buffer.get(bytes);
          Files.write(file, bytes);
          written.put(key, file);
          productOf.put(key, image.getProductId());
        }
        if (read - lastShown >= 500 || read == total) {
          lastShown = read;
          stdout.printf(Locale.ROOT, "\rReading %s: %d/%d records", topic, read, total);
          stdout.flush();
        }
      }
      stdout.println();
    }
    try (var dirs = Files.list(images)) {
      for (Path d : dirs.filter(Files::isDirectory).toList()) {
        try (var inside = Files.list(d)) {
          if (inside.findAny().isEmpty()) {
            Files.delete(d); // every photo of the label was deleted later
          }
        }
      }
    }
    Export export = new Export();
    for (Path file : written.values()) {
      export.labels.merge(file.getParent().getFileName().toString(), 1, Integer::sum);
    }
    export.photos = written.size();
    export.products = (int) productOf.values().stream().distinct().count();
    export.unlabelled = unlabelled.size();
    if (skipped > 0) {
      stdout.printf("%d unreadable records skipped.%n", skipped);
    }
    return export;
  }

  /** Marks a work directory this command wrote, so a rerun may empty it. */
  static final String MARKER = ".lookalike-train";

  /**
   * An empty or new directory, or one an earlier run wrote (its photos are removed); refuses any
   * other, so no one's files are deleted or trained on by mistake.
   */
  private void prepare(Path images) throws IOException {
    if (Files.isDirectory(images)) {
      boolean ours = Files.exists(images.resolve(MARKER));
      try (var entries = Files.list(images)) {
        List<Path> all = entries.toList();
        if (!ours && !all.isEmpty()) {
          throw new ParameterException(
              spec.commandLine(),
              "--work-dir "
                  + images
                  + " is not empty and not one lookalike train wrote: give an"
                  + " empty or new directory");
        }
        for (Path label : all) {
          if (Files.isDirectory(label)) {
            try (var files = Files.list(label)) {
              for (Path f : files.toList()) {
                Files.delete(f);
              }
            }
            Files.delete(label);
          }
        }
      }
    }
    Files.createDirectories(images);
    Files.writeString(images.resolve(MARKER), "photos exported by lookalike train\n");
  }

  private String label(ProductImage image) {
    var product = image.getProduct();
    String value =
        switch (labelField) {
          case "category" -> product.getCategory();
          case "brand" -> product.getBrand();
          case "title" -> product.getTitle();
          default -> product.getAttributes().get(labelField);
        };
    if (value == null || value.isBlank()) {
      return null;
    }
    return value.strip();
  }

  /** A file name: letters, digits, '.', '-' and '_' kept, the rest '_'; never "." or "..". */
  static String safe(String name) {
    String s = name.replaceAll("[^\\p{L}\\p{N}._-]", "_");
    if (s.isEmpty() || s.matches("\\.+")) {
      s = "_" + s;
    }
    return s.length() > 120 ? s.substring(0, 120) : s;
  }
}
