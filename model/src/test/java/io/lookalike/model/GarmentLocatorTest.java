package io.lookalike.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.lookalike.image.Region;
import java.util.List;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class GarmentLocatorTest {

  private static float[][] map(String... rows) {
    float[][] m = new float[rows.length][];
    for (int r = 0; r < rows.length; r++) {
      m[r] = new float[rows[r].length()];
      for (int c = 0; c < rows[r].length(); c++) {
        m[r][c] = rows[r].charAt(c) - '0';
      }
    }
    return m;
  }

  @Test
  void shouldBoxTheLargestRegionAboveTheMean() {
    float[][] m =
        map(
            "0000000", //
            "0099000", "0099000", "0000000", "0000000", "0000090", "0000000");
    List<Region> regions = GarmentLocator.regions(m, 0, 4);
    assertThat(regions).hasSize(2);
    Region main = regions.get(0);
    assertThat(main.x()).isCloseTo(2 / 7.0, Offset.offset(1e-9));
    assertThat(main.y()).isCloseTo(1 / 7.0, Offset.offset(1e-9));
    assertThat(main.w()).isCloseTo(2 / 7.0, Offset.offset(1e-9));
    assertThat(main.h()).isCloseTo(2 / 7.0, Offset.offset(1e-9));
    assertThat(regions.get(1).x()).isCloseTo(5 / 7.0, Offset.offset(1e-9));
  }

  @Test
  void shouldGrowTheBoxByTheMarginClippedToThePhoto() {
    float[][] m = map("900", "000", "000");
    Region r = GarmentLocator.regions(m, 0.5, 1).get(0);
    assertThat(r.x()).isEqualTo(0);
    assertThat(r.y()).isEqualTo(0);
    assertThat(r.w()).isCloseTo(1.5 / 3, Offset.offset(1e-9));
  }

  @Test
  void shouldDropWeakRegionsAndKeepAtMostMax() {
    float[][] m =
        map(
            "9900001", //
            "9900000", "0000000", "0000000");
    // the lone 1 is above the mean but has far less than a quarter of the main region's activation
    assertThat(GarmentLocator.regions(m, 0, 4)).hasSize(1);
  }

  @Test
  void shouldBeTheWholePhotoWhenTheGarmentFillsItOrNothingStandsOut() {
    assertThat(GarmentLocator.regions(map("555", "555", "555"), 0, 4))
        .containsExactly(Region.WHOLE);
    assertThat(GarmentLocator.regions(map("999", "919", "999"), 0, 4).get(0).isWhole()).isTrue();
  }
}
