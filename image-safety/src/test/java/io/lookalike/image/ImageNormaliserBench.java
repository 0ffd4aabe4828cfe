package io.lookalike.image;

import io.lookalike.testkit.HostileImages;
import io.lookalike.testkit.SampleImages;
import java.util.Arrays;
import java.util.List;

/**
 * How long the normaliser takes to refuse hostile images (decided from the header, never decoded)
 * and to normalise real photos. Prints p50/p99/max per case. {@code ./mvnw -q -pl image-safety
 * test-compile exec:java -Dbench=io.lookalike.image.ImageNormaliserBench}
 */
public final class ImageNormaliserBench {

  public static void main(String[] args) {
    ImageNormaliser normaliser = new ImageNormaliser();
    time(
        "refuse 20000x20000 PNG (207 B)",
        normaliser,
        List.of(HostileImages.hugePng(20_000, 20_000)),
        200);
    time("refuse 50000x50000 PNG", normaliser, List.of(HostileImages.hugePng(50_000, 50_000)), 200);
    List<byte[]> photos =
        SampleImages.photos("test", 50).stream().map(SampleImages.Photo::bytes).toList();
    time("normalise real photos", normaliser, photos, 4);
  }

  private static void time(
      String name, ImageNormaliser normaliser, List<byte[]> inputs, int rounds) {
    long[] micros = new long[inputs.size() * rounds];
    int n = 0;
    for (int round = 0; round < rounds; round++) {
      for (byte[] input : inputs) {
        long start = System.nanoTime();
        try {
          normaliser.normalise(input);
        } catch (RejectedImageException expected) {
          // refusals are what is being timed for the hostile inputs
        }
        micros[n++] = (System.nanoTime() - start) / 1_000;
      }
    }
    Arrays.sort(micros);
    System.out.printf(
        "%-34s n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms%n",
        name,
        micros.length,
        micros[micros.length / 2] / 1e3,
        micros[(int) (micros.length * 0.99)] / 1e3,
        micros[micros.length - 1] / 1e3);
  }
}
