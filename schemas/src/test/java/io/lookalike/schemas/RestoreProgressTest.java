package io.lookalike.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class RestoreProgressTest {

  private static final TopicPartition P0 = new TopicPartition("app-store-changelog", 0);
  private static final TopicPartition P1 = new TopicPartition("app-store-changelog", 1);
  private static final TopicPartition OTHER = new TopicPartition("app-other-changelog", 0);

  @Test
  void shouldReportNothingWhenNothingIsRestoring() {
    RestoreProgress progress = new RestoreProgress("Fetcher");

    assertThat(progress.now()).isEmpty();
    assertThat(progress.remaining()).isZero();
  }

  @Test
  void shouldSumTheStoresAndPartitionsBeingRestored() {
    RestoreProgress progress = new RestoreProgress("Fetcher");

    progress.onRestoreStart(P0, "store", 100, 60_100);
    progress.onRestoreStart(P1, "store", 0, 40_000);
    progress.onRestoreStart(OTHER, "other", 0, 10);
    progress.onBatchRestored(P0, "store", 2_100, 2_000);
    progress.onBatchRestored(P1, "store", 1_000, 1_000);

    assertThat(progress.now())
        .map(Object::toString)
        .contains("restoring 2 stores (3 changelog partitions): 3,000 of 100,010 records");
    assertThat(progress.remaining()).isEqualTo(97_010);
  }

  @Test
  void shouldForgetAPartitionOnceRestoredOrSuspended() {
    RestoreProgress progress = new RestoreProgress("Embedder");
    progress.onRestoreStart(P0, "store", 0, 10);
    progress.onRestoreStart(P1, "store", 0, 5);

    progress.onRestoreEnd(P0, "store", 10);
    assertThat(progress.now())
        .map(Object::toString)
        .contains("restoring 1 store (1 changelog partition): 0 of 5 records");

    progress.onRestoreSuspended(P1, "store", 3); // the task moved to another instance
    assertThat(progress.now()).isEmpty();
  }
}
