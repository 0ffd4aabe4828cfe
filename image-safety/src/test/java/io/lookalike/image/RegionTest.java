package io.lookalike.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

class RegionTest {

  @Test
  void shouldParseFourFractions() {
    Region r = Region.parse(" 0.25, 0.1 ,0.5,0.9");
    assertThat(r.x()).isEqualTo(0.25);
    assertThat(r.h()).isEqualTo(0.9);
    assertThat(Region.parse("0,0,1,1").isWhole()).isTrue();
    assertThat(Region.parse("0.3,0,0.7,1").isWhole()).isFalse();
  }

  @Test
  void shouldAcceptAnEdgeAtOneDespiteRounding() {
    assertThat(Region.parse("0.1,0.2,0.9,0.8").x()).isEqualTo(0.1);
  }

  @Test
  void shouldRefuseAnEmptyRegionNamingTheValue() {
    assertThatThrownBy(() -> Region.parse("0,0,0,1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0,0,0,1")
        .hasMessageContaining("empty");
  }

  @Test
  void shouldRefuseARegionOutsideThePhoto() {
    assertThatThrownBy(() -> Region.parse("0.5,0,0.6,1")).hasMessageContaining("outside");
    assertThatThrownBy(() -> Region.parse("-0.1,0,0.5,0.5")).hasMessageContaining("0..1");
    assertThatThrownBy(() -> Region.parse("0,0,NaN,1")).hasMessageContaining("finite");
  }

  @Test
  void shouldRefuseWhatIsNotFourNumbers() {
    assertThatThrownBy(() -> Region.parse("1,2,3")).hasMessageContaining("four numbers");
    assertThatThrownBy(() -> Region.parse("a,b,c,d")).hasMessageContaining("four numbers");
  }

  @Test
  void shouldCutThePixelsOfTheRegion() {
    BufferedImage image = new BufferedImage(200, 100, BufferedImage.TYPE_INT_RGB);
    image.setRGB(150, 50, 0xff0000);
    BufferedImage cut = Region.of(0.5, 0.25, 0.5, 0.5).cut(image);
    assertThat(cut.getWidth()).isEqualTo(100);
    assertThat(cut.getHeight()).isEqualTo(50);
    assertThat(cut.getRGB(50, 25) & 0xffffff).isEqualTo(0xff0000);
    BufferedImage tiny = Region.of(0.999, 0.999, 0.001, 0.001).cut(image);
    assertThat(tiny.getWidth()).isEqualTo(1);
    assertThat(tiny.getHeight()).isEqualTo(1);
  }
}
