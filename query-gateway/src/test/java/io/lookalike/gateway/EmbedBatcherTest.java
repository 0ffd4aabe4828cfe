package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lookalike.model.DjlEmbedder;
import io.lookalike.model.Embedder;
import io.lookalike.model.EmbeddingResult;
import io.lookalike.model.ModelInfo;
import io.lookalike.testkit.SampleImages;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The query-embedding batcher on the real default model: which photos share a batch is decided by
 * holding the batcher while they are queued, never by timing.
 */
class EmbedBatcherTest {

  private static DjlEmbedder model;
  private static List<byte[]> photos;

  /** The real model, counting the batched calls it is given. */
  private static final class Counting implements Embedder {
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public ModelInfo model() {
      return model.model();
    }

    @Override
    public List<EmbeddingResult> embed(List<byte[]> images) {
      calls.incrementAndGet();
      return model.embed(images);
    }

    @Override
    public void close() {}
  }

  @BeforeAll
  static void load() {
    model = DjlEmbedder.loadDefault();
    photos = SampleImages.photos("test", 12).stream().map(SampleImages.Photo::bytes).toList();
  }

  @AfterAll
  static void unload() {
    model.close();
  }

  @Test
  void shouldEmbedConcurrentPhotosInFewerCallsWithTheSameVectors() throws Exception {
    Counting counting = new Counting();
    List<CompletableFuture<EmbeddingResult>> futures = new ArrayList<>();
    try (EmbedBatcher batcher = new EmbedBatcher(8, 2, 64)) {
      try (AutoCloseable held = batcher.hold()) {
        for (byte[] photo : photos) {
          futures.add(batcher.submit(counting, photo));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> batcher.queued() == photos.size());
      }
      for (int i = 0; i < photos.size(); i++) {
        float[] batched = vector(futures.get(i).get());
        float[] alone = vector(model.embed(List.of(photos.get(i))).get(0));
        assertThat(batched).containsExactly(alone, Offset.offset(1e-5f));
      }
      // 12 photos queued together, at most 8 a batch: 8 + 4.
      assertThat(counting.calls).hasValue(2);
      assertThat(batcher.batches()).isEqualTo(2);
    }
  }

  @Test
  void shouldFailOnlyTheUndecodablePhotoOfABatch() throws Exception {
    Counting counting = new Counting();
    try (EmbedBatcher batcher = new EmbedBatcher(8, 2, 64)) {
      CompletableFuture<EmbeddingResult> good;
      CompletableFuture<EmbeddingResult> bad;
      CompletableFuture<EmbeddingResult> alsoGood;
      try (AutoCloseable held = batcher.hold()) {
        good = batcher.submit(counting, photos.get(0));
        bad = batcher.submit(counting, new byte[] {1, 2, 3});
        alsoGood = batcher.submit(counting, photos.get(1));
        await().atMost(Duration.ofSeconds(10)).until(() -> batcher.queued() == 3);
      }
      assertThat(vector(good.get())).hasSize(model.model().dimension());
      assertThat(vector(alsoGood.get())).hasSize(model.model().dimension());
      assertThat(bad.get())
          .isInstanceOfSatisfying(
              EmbeddingResult.Failed.class,
              f -> assertThat(f.reasonCode()).isEqualTo(DjlEmbedder.REASON_UNDECODABLE));
      assertThat(counting.calls).hasValue(1);
    }
  }

  @Test
  void shouldRefuseWhenTheQueueIsFull() throws Exception {
    Counting counting = new Counting();
    try (EmbedBatcher batcher = new EmbedBatcher(8, 2, 2)) {
      CompletableFuture<EmbeddingResult> third;
      List<CompletableFuture<EmbeddingResult>> queued = new ArrayList<>();
      try (AutoCloseable held = batcher.hold()) {
        queued.add(batcher.submit(counting, photos.get(0)));
        queued.add(batcher.submit(counting, photos.get(1)));
        third = batcher.submit(counting, photos.get(2));
        assertThat(third).isCompletedExceptionally();
      }
      assertThat(errorCode(third)).isEqualTo(ErrorCode.EMBED_BUSY);
      assertThat(ErrorCode.EMBED_BUSY.status()).isEqualTo(503);
      for (CompletableFuture<EmbeddingResult> f : queued) {
        assertThat(vector(f.get())).hasSize(model.model().dimension());
      }
    }
  }

  @Test
  void shouldFailWaitingAndLaterPhotosWhenClosed() throws Exception {
    Counting counting = new Counting();
    EmbedBatcher batcher = new EmbedBatcher(8, 2, 64);
    List<CompletableFuture<EmbeddingResult>> waiting = new ArrayList<>();
    try (AutoCloseable held = batcher.hold()) {
      waiting.add(batcher.submit(counting, photos.get(0)));
      waiting.add(batcher.submit(counting, photos.get(1)));
      batcher.close();
    }
    for (CompletableFuture<EmbeddingResult> f : waiting) {
      assertThat(errorCode(f)).isEqualTo(ErrorCode.INTERRUPTED);
    }
    assertThat(errorCode(batcher.submit(counting, photos.get(2)))).isEqualTo(ErrorCode.INTERRUPTED);
    assertThat(counting.calls).hasValue(0);
  }

  private static float[] vector(EmbeddingResult result) {
    assertThat(result).isInstanceOf(EmbeddingResult.Vector.class);
    return ((EmbeddingResult.Vector) result).values();
  }

  private static ErrorCode errorCode(CompletableFuture<EmbeddingResult> future) {
    try {
      future.get();
      throw new AssertionError("expected a failure");
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(SearchException.class);
      return ((SearchException) e.getCause()).error();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
