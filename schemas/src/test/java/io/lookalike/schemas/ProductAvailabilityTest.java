package io.lookalike.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProductAvailabilityTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "IN_STOCK",
        "in_stock",
        "in-stock",
        "in stock",
        "In Stock",
        "InStock",
        "https://schema.org/InStock",
        " instock "
      })
  void shouldParseEverySpellingOfInStockTheSame(String spelling) {
    assertThat(ProductAvailability.normalise(spelling)).isEqualTo("IN_STOCK");
  }

  @ParameterizedTest
  @ValueSource(strings = {"PreOrder", "pre-order", "preorder", "PREORDER"})
  void shouldParsePreorderSpellings(String spelling) {
    assertThat(ProductAvailability.normalise(spelling)).isEqualTo("PREORDER");
  }

  @ParameterizedTest
  @ValueSource(strings = {"BOGUS", "", "stock"})
  void shouldRefuseUnknownValuesNamingTheAllowedOnes(String value) {
    assertThatThrownBy(() -> ProductAvailability.normalise(value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("IN_STOCK")
        .hasMessageContaining("OUT_OF_STOCK");
    assertThat(ProductAvailability.parse(value)).isEmpty();
  }
}
