package io.lookalike.ingest.connect;

import static org.assertj.core.api.Assertions.assertThat;

import io.lookalike.schemas.EventType;
import io.lookalike.schemas.ProductEvent;
import io.lookalike.schemas.Serdes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTaskContext;
import org.apache.kafka.connect.storage.OffsetStorageReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The task against a feed directory, with offsets kept in memory as a worker would commit them. */
class CatalogFeedSourceTaskTest {

  @TempDir Path dir;

  /** Source offsets "committed" so far: the last one handed over per partition. */
  private final Map<Map<String, ?>, Map<String, Object>> committed = new HashMap<>();

  @Test
  void shouldResumeAfterLastLineHandedOverWithoutDuplicatesOrGaps() throws Exception {
    Path feed = dir.resolve("a.jsonl");
    Files.writeString(
        feed, "{\"productId\":\"p1\",\"version\":1}\n{\"productId\":\"p2\",\"version\":1}\n");
    CatalogFeedSourceTask task = start(Map.of(CatalogFeedConfig.BATCH_SIZE_CONFIG, "1"));
    assertThat(ids(pollAll(task))).containsExactly("p1:1", "p2:1");
    task.stop();

    Files.writeString(feed, "{\"productId\":\"p3\",\"version\":1}\n", StandardOpenOption.APPEND);
    CatalogFeedSourceTask restarted = start(Map.of());
    assertThat(ids(pollAll(restarted))).containsExactly("p3:1");
  }

  @Test
  void shouldWaitForUnterminatedLastLineUntilFileSettles() throws Exception {
    Path feed = dir.resolve("a.jsonl");
    Files.writeString(feed, "{\"productId\":\"p1\",\"version\":1}\n{\"productId\":\"p2\"");
    CatalogFeedSourceTask task = start(Map.of(CatalogFeedConfig.SETTLE_MS_CONFIG, "60000"));
    assertThat(ids(pollAll(task))).containsExactly("p1:1");
    Files.writeString(feed, ",\"version\":1}\n", StandardOpenOption.APPEND);
    assertThat(ids(pollAll(task))).containsExactly("p2:1");
  }

  @Test
  void shouldReadReplacedFileAgainAndDeleteProductsItNoLongerLists() throws Exception {
    Path feed = dir.resolve("b.csv");
    Files.writeString(feed, "productId,version,title\nc1,1,Shirt\nc2,1,Shoe\n");
    CatalogFeedSourceTask task = start(Map.of(CatalogFeedConfig.EMIT_DELETES_CONFIG, "true"));
    assertThat(ids(pollAll(task))).containsExactly("c1:1", "c2:1");
    task.stop();

    Files.writeString(feed, "productId,version,title\nc1,2,Shirt v2\nc3,1,Hat\n");
    Files.setLastModifiedTime(
        feed, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 10_000));
    List<ProductEvent> events =
        events(pollAll(start(Map.of(CatalogFeedConfig.EMIT_DELETES_CONFIG, "true"))));
    assertThat(events)
        .extracting(e -> e.getProductId().toString())
        .containsExactly("c1", "c3", "c2");
    assertThat(events.get(2).getType()).isEqualTo(EventType.DELETE);
  }

  @Test
  void shouldDeadLetterMalformedLineWithFileAndLineNumber() throws Exception {
    Path feed = dir.resolve("a.jsonl");
    Files.writeString(feed, "{\"productId\":\"p1\"}\nnot json\n{\"productId\":\"p2\"}\n");
    List<SourceRecord> records = pollAll(start(Map.of()));
    assertThat(records).hasSize(3);
    SourceRecord letter = records.get(1);
    assertThat(letter.topic()).isEqualTo("catalog.dead-letters");
    assertThat(letter.headers().lastWithName(FeedRecords.LINE_HEADER).value()).isEqualTo("2");
    assertThat(letter.headers().lastWithName(FeedRecords.SOURCE_HEADER).value())
        .isEqualTo(feed.toString());
  }

  private CatalogFeedSourceTask start(Map<String, String> extra) {
    Map<String, String> props = new HashMap<>(extra);
    props.put(CatalogFeedConfig.DIR_CONFIG, dir.toString());
    props.putIfAbsent(CatalogFeedConfig.SETTLE_MS_CONFIG, "0");
    CatalogFeedSourceTask task = new CatalogFeedSourceTask();
    task.initialize(
        new SourceTaskContext() {
          @Override
          public Map<String, String> configs() {
            return props;
          }

          @Override
          public org.apache.kafka.common.metrics.PluginMetrics pluginMetrics() {
            return null;
          }

          @Override
          public OffsetStorageReader offsetStorageReader() {
            return new OffsetStorageReader() {
              @Override
              @SuppressWarnings("unchecked")
              public <T> Map<String, Object> offset(Map<String, T> partition) {
                return committed.get(partition);
              }

              @Override
              public <T> Map<Map<String, T>, Map<String, Object>> offsets(
                  Collection<Map<String, T>> partitions) {
                Map<Map<String, T>, Map<String, Object>> out = new HashMap<>();
                partitions.forEach(p -> out.put(p, committed.get(p)));
                return out;
              }
            };
          }
        });
    task.start(props);
    return task;
  }

  /** Polls until a poll returns nothing, committing each record's offset as the worker would. */
  @SuppressWarnings("unchecked")
  private List<SourceRecord> pollAll(CatalogFeedSourceTask task) throws InterruptedException {
    List<SourceRecord> all = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      List<SourceRecord> batch = task.poll();
      if (batch == null || batch.isEmpty()) {
        if (i > 0) {
          break;
        }
        continue;
      }
      for (SourceRecord record : batch) {
        committed.put(record.sourcePartition(), (Map<String, Object>) record.sourceOffset());
      }
      all.addAll(batch);
    }
    return all;
  }

  private static List<ProductEvent> events(List<SourceRecord> records) {
    return records.stream()
        .filter(r -> r.topic().equals("catalog.product-events"))
        .map(r -> Serdes.productEvent().deserialize((byte[]) r.value()))
        .toList();
  }

  private static List<String> ids(List<SourceRecord> records) {
    return events(records).stream().map(e -> e.getEventId().toString()).toList();
  }
}
