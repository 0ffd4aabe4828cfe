package io.lookalike.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ImageKeyTest {

  @Test
  void shouldSplitOnTheLastSlashSoProductIdsMayContainSlashes() {
    ImageKey key = ImageKey.parse("shoes/p-1/front");

    assertThat(key.productId()).isEqualTo("shoes/p-1");
    assertThat(key.imageId()).isEqualTo("front");
    assertThat(key).hasToString("shoes/p-1/front");
  }

  @Test
  void shouldRefuseKeysWithoutBothParts() {
    for (String bad : new String[] {"p1", "/front", "p1/", ""}) {
      assertThatThrownBy(() -> ImageKey.parse(bad)).isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> new ImageKey("p1", "a/b"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void shouldNameTopicsFromDefaultsAndOverrides() {
    Topics topics = Topics.from(Map.of(Topics.PRODUCT_IMAGES_CONFIG, "shop.images"));

    assertThat(topics.productImages()).isEqualTo("shop.images");
    assertThat(topics.productEvents()).isEqualTo("catalog.product-events");
    assertThat(topics.embeddings("mobilenet_v2_1234abcd"))
        .isEqualTo("catalog.image-embeddings.mobilenet_v2_1234abcd");
  }

  @Test
  void shouldNormaliseAvailability() {
    assertThat(ProductAvailability.normalise(" in stock")).isEqualTo("IN_STOCK");
    assertThat(ProductAvailability.normalise("Out-Of-Stock")).isEqualTo("OUT_OF_STOCK");
    assertThatThrownBy(() -> ProductAvailability.normalise("sometimes"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
