package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.EmbeddingModelConfig;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.testkit.SampleImages;
import io.lookalike.testkit.SampleImages.Photo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * models/train/adapt.py trains a few steps on a few real photos with Debian's torch, the loss
 * falls, and the TorchScript file it writes loads in the embedder and gives unit vectors of the
 * head's size. Skipped where /usr/bin/python3 has no torch (.ci/run installs it).
 */
class AdaptScriptIT {

  private static final Path PYTHON = Path.of("/usr/bin/python3");

  @TempDir Path dir;

  @Test
  void shouldTrainAHeadWhoseLossFallsAndWhoseModelLoadsInTheEmbedder() throws Exception {
    assumeTrue(
        TrainCommand.hasTorch(PYTHON),
        "/usr/bin/python3 with torch, torchvision and PIL is needed");
    Path images = dir.resolve("images");
    List<Photo> photos =
        SampleImages.photos("train", 12); // round-robin: 10 classes, 2 with two photos
    for (Photo photo : photos) {
      Path label = Files.createDirectories(images.resolve(photo.category()));
      Files.copy(photo.path(), label.resolve(photo.path().getFileName()));
    }
    Path out = dir.resolve("adapted.pt");
    Path repo = Path.of(System.getProperty("lookalike.repo.dir", ".."));

    Process process =
        new ProcessBuilder(
                PYTHON.toString(),
                repo.resolve("models/train/adapt.py").toString(),
                "--images",
                images.toString(),
                "--out",
                out.toString(),
                "--steps",
                "40",
                "--views",
                "3",
                "--dim",
                "32",
                "--log-every",
                "10")
            .redirectErrorStream(true)
            .start();
    String log = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(5, TimeUnit.MINUTES)).isTrue();
    System.out.println(log);

    assertThat(process.exitValue()).as(log).isZero();
    Matcher m = Pattern.compile("first loss ([0-9.]+) last loss ([0-9.]+)").matcher(log);
    assertThat(m.find()).as(log).isTrue();
    assertThat(Double.parseDouble(m.group(2))).isLessThan(Double.parseDouble(m.group(1)));
    try (DjlEmbedder embedder = DjlEmbedder.load(EmbeddingModelConfig.of(out.toString()))) {
      assertThat(embedder.model().dimension()).isEqualTo(32);
      EmbeddingResult result = embedder.embed(List.of(photos.get(0).bytes())).get(0);
      float[] v = ((EmbeddingResult.Vector) result).values();
      double norm = 0;
      for (float x : v) {
        norm += x * x;
      }
      assertThat(Math.sqrt(norm)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-3));
    }
  }
}
