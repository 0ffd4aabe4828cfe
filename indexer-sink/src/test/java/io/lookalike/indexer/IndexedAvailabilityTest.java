package io.lookalike.indexer;

import static org.assertj.core.api.Assertions.assertThat;

import io.lookalike.schemas.ImageKey;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Products that come in through Kafka are indexed with the same availability vocabulary the query
 * reads.
 */
class IndexedAvailabilityTest {

  @ParameterizedTest
  @CsvSource({
    "in-stock,IN_STOCK",
    "in stock,IN_STOCK",
    "InStock,IN_STOCK",
    "OUT_OF_STOCK,OUT_OF_STOCK",
    "pre-order,PREORDER",
    "sideways,UNKNOWN"
  })
  void shouldIndexTheCanonicalAvailability(String given, String indexed) {
    assertThat(EmbeddingIndexer.availability(new ImageKey("p1", "main"), given)).isEqualTo(indexed);
  }
}
