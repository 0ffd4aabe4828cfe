package io.lookalike.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Real product photos for tests: the CC0 clothing dataset in {@code
 * ../shared/datasets/clothing-small} (10 classes, train/validation/test). The location comes from
 * the system property {@code lookalike.shared.dir}, set by the build.
 */
public final class SampleImages {

  private SampleImages() {}

  public static Path datasetDir() {
    String shared = System.getProperty("lookalike.shared.dir");
    Path dir = shared != null ? Paths.get(shared) : Paths.get("..", "shared");
    Path dataset = dir.resolve("datasets").resolve("clothing-small");
    if (!Files.isDirectory(dataset)) {
      throw new IllegalStateException(
          "Sample dataset not found at "
              + dataset.toAbsolutePath()
              + " (set -Dlookalike.shared.dir)");
    }
    return dataset;
  }

  /** A photo with its class, e.g. ("t-shirt", path). */
  public record Photo(String category, Path path) {
    public String id() {
      String name = path.getFileName().toString();
      return name.substring(0, name.lastIndexOf('.'));
    }

    public byte[] bytes() {
      try {
        return Files.readAllBytes(path);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /**
   * {@code count} photos of one split, taken round-robin across the classes in a fixed order, so
   * the same call always gives the same photos and every class is represented.
   */
  public static List<Photo> photos(String split, int count) {
    Path splitDir = datasetDir().resolve(split);
    try (Stream<Path> classes = Files.list(splitDir)) {
      List<List<Photo>> byClass = new ArrayList<>();
      for (Path cls : classes.filter(Files::isDirectory).sorted().toList()) {
        try (Stream<Path> files = Files.list(cls)) {
          byClass.add(
              files
                  .filter(p -> p.toString().endsWith(".jpg"))
                  .sorted(Comparator.comparing(Path::toString))
                  .map(p -> new Photo(cls.getFileName().toString(), p))
                  .toList());
        }
      }
      List<Photo> out = new ArrayList<>(count);
      for (int i = 0; out.size() < count; i++) {
        boolean any = false;
        for (List<Photo> photos : byClass) {
          if (i < photos.size() && out.size() < count) {
            out.add(photos.get(i));
            any = true;
          }
        }
        if (!any) {
          break;
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
