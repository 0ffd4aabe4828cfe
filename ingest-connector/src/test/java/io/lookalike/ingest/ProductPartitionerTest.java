package io.lookalike.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.junit.jupiter.api.Test;

class ProductPartitionerTest {

  @Test
  void shouldPlaceEveryProductWhereJavasDefaultProducerPlacesItsKey() {
    ProductPartitioner partitioner = new ProductPartitioner();
    for (int i = 0; i < 1000; i++) {
      byte[] key = ("product-" + i).getBytes(StandardCharsets.UTF_8);
      for (int partitions : new int[] {1, 2, 3, 12}) {
        assertThat(partitioner.partitions("t", key, null, partitions))
            .isEqualTo(Optional.of(Set.of(BuiltInPartitioner.partitionForKey(key, partitions))));
      }
    }
  }
}
