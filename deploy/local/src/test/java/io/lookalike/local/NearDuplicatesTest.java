package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.lookalike.testkit.ImageAlterations;
import io.lookalike.testkit.SampleImages;
import org.junit.jupiter.api.Test;

/** The quality gate's alteration and the tests' one must stay the same. */
class NearDuplicatesTest {

  @Test
  void shouldAlterExactlyAsTheTestkitDoes() {
    for (SampleImages.Photo photo : SampleImages.photos("test", 3)) {
      assertThat(NearDuplicates.of(photo.bytes())).isEqualTo(ImageAlterations.nearDuplicate(photo.bytes()));
    }
  }

  @Test
  void shouldCropToEightyPercentOfEachSide() {
    byte[] original = SampleImages.photos("test", 1).get(0).bytes();
    var before = NearDuplicates.decode(original);
    var after = NearDuplicates.decode(NearDuplicates.of(original));
    assertThat(after.getWidth()).isEqualTo(Math.round(before.getWidth() * 0.8f));
    assertThat(after.getHeight()).isEqualTo(Math.round(before.getHeight() * 0.8f));
  }
}
