package io.lookalike.model;

import ai.djl.engine.Engine;
import io.lookalike.testkit.SampleImages;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Raw model throughput (decode, preprocess and forward pass of {@link DjlEmbedder}) by batch size,
 * as one table, on whatever device DJL picks (a GPU when its CUDA natives load). Each batch size
 * runs for {@code bench.seconds} after one warm-up batch, so the whole table takes a bounded time.
 * Run it with {@code ./mvnw -q -pl model test-compile exec:java
 * -Dbench=io.lookalike.model.ModelBench [-Dbench.batches=1,8,32] [-Dbench.seconds=3]
 * [-Dbench.model=URL] [-Dbench.label=fp32]}; {@code deploy/gpu/bench-gpu.sh} runs it on a CUDA
 * machine.
 */
public final class ModelBench {

  private ModelBench() {}

  public static void main(String[] args) {
    int[] batches =
        Arrays.stream(System.getProperty("bench.batches", "1,8,32").split(","))
            .map(String::strip)
            .mapToInt(Integer::parseInt)
            .toArray();
    double seconds = Double.parseDouble(System.getProperty("bench.seconds", "3"));
    String url = System.getProperty("bench.model", "");
    String label = System.getProperty("bench.label", url.isEmpty() ? "default fp32" : url);
    int maxBatch = Arrays.stream(batches).max().orElse(1);
    List<byte[]> photos = photos(Math.min(256, maxBatch));
    try (DjlEmbedder embedder =
        DjlEmbedder.load(
            url,
            null,
            Map.of(EmbeddingModelConfig.BATCH_MAX_SIZE_CONFIG, Integer.toString(maxBatch)))) {
      Engine engine = Engine.getEngine("PyTorch");
      String device = engine.getGpuCount() > 0 ? "gpu x" + engine.getGpuCount() : "cpu";
      System.out.printf(
          "PyTorch %s, %s, %d cores, %s%n",
          engine.getVersion(),
          device,
          Runtime.getRuntime().availableProcessors(),
          embedder.model());
      System.out.println("| model | device | batch | images/s | ms per batch |");
      System.out.println("| --- | --- | --- | --- | --- |");
      for (int batch : batches) {
        List<byte[]> one = new ArrayList<>(batch);
        for (int i = 0; i < batch; i++) {
          one.add(photos.get(i % photos.size()));
        }
        check(embedder.embed(one)); // warm-up: the first pass at a new shape is slow on GPU
        int calls = 0;
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        do {
          embedder.embed(one);
          calls++;
        } while (System.nanoTime() < end);
        double elapsed = (System.nanoTime() - start) / 1e9;
        System.out.printf(
            "| %s | %s | %d | %.1f | %.1f |%n",
            label, device, batch, calls * batch / elapsed, elapsed * 1000 / calls);
      }
    }
  }

  /**
   * Sample catalog photos, or, where the shared dataset is absent (a GPU machine with only this
   * repository), synthetic 640×480 JPEGs: decode and forward pass cost the same for any content.
   */
  private static List<byte[]> photos(int n) {
    try {
      return SampleImages.photos("test", n).stream().map(SampleImages.Photo::bytes).toList();
    } catch (RuntimeException e) {
      System.out.println(
          "PyTorch bench: no sample photos (" + e.getMessage() + "), synthetic ones");
      java.util.Random random = new java.util.Random(42);
      List<byte[]> out = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        java.awt.image.BufferedImage image =
            new java.awt.image.BufferedImage(640, 480, java.awt.image.BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = image.createGraphics();
        for (int r = 0; r < 40; r++) {
          g.setColor(new java.awt.Color(random.nextInt(0xffffff)));
          g.fillRect(
              random.nextInt(640),
              random.nextInt(480),
              20 + random.nextInt(200),
              20 + random.nextInt(200));
        }
        g.dispose();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try {
          javax.imageio.ImageIO.write(image, "jpeg", bytes);
        } catch (java.io.IOException io) {
          throw new java.io.UncheckedIOException(io);
        }
        out.add(bytes.toByteArray());
      }
      return out;
    }
  }

  private static void check(List<EmbeddingResult> results) {
    for (EmbeddingResult r : results) {
      if (r instanceof EmbeddingResult.Failed f) {
        throw new IllegalStateException("embedding failed: " + f.reason(), f.cause());
      }
    }
  }
}
