package io.lookalike.store;

import io.lookalike.schemas.ImageKey;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Where the vectors of one model live, keyed by productId/imageId: the embedded Lucene HNSW index
 * on one machine, a Milvus collection at scale. No engine type appears in this interface.
 *
 * <p>Writes are idempotent (replaying a batch gives the same index) and version-guarded: an upsert
 * whose {@code version} is older than the stored one is ignored. Implementations are thread-safe.
 */
public interface VectorStore extends AutoCloseable {

  /** The model whose vectors this store holds; queries must be embedded with it. */
  String modelId();

  int dimension();

  /**
   * Applies a batch of upserts and deletes. Returns when the batch is visible to {@link #search};
   * it is durable only after the next {@link #flush} returns (a store may make it durable sooner:
   * Milvus does before {@code write} returns). A caller that commits source offsets (the sinks)
   * commits only those of batches written before a {@code flush} that has returned.
   */
  WriteResult write(Collection<StoredImage> upserts, Collection<ImageKey> deletes);

  /**
   * Makes every write that has returned before this call durable: it survives a crash of this
   * process or machine. Cheap when nothing was written since the last flush; stores whose writes
   * are durable on return (Milvus) do nothing.
   */
  default void flush() {}

  /**
   * The {@code k} nearest stored images to {@code query} (L2-normalised) that pass {@code filter},
   * best first, scored by cosine similarity.
   */
  List<SearchHit> search(float[] query, int k, SearchFilter filter);

  /**
   * The {@code k} stored images whose product text (title, brand, category, attribute values) best
   * matches {@code text} (BM25), that pass {@code filter}, best first; the score is the engine's
   * text score, comparable only within one answer. Stores without full-text search throw {@link
   * UnsupportedOperationException}.
   */
  default List<SearchHit> searchText(String text, int k, SearchFilter filter) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " has no text search");
  }

  /** The stored images of one product, by position. */
  List<StoredImage> imagesOf(String productId);

  Optional<StoredImage> get(ImageKey key);

  /** Number of stored images. */
  long count();

  /**
   * Up to {@code n} stored images spread over the index (not random, but not only the newest or
   * oldest): what a per-index score calibration looks at. Stores that cannot list their contents
   * throw UnsupportedOperationException.
   */
  default List<StoredImage> sample(int n) {
    throw new UnsupportedOperationException(
        getClass().getSimpleName() + " cannot sample its images");
  }

  /**
   * This index with reads and searches that see every write acknowledged before them, for a search
   * that must read its own writes (consistentWith). Stores whose reads always do (Lucene, which
   * makes a write visible before it returns) are their own; a Milvus store returns a view at STRONG
   * consistency over the same client. Do not close the view: close this store.
   */
  default VectorStore strong() {
    return this;
  }

  @Override
  void close();

  /** What a write did: how many upserts were applied, skipped as stale, and deletes applied. */
  record WriteResult(int upserted, int skippedStale, int deleted) {}
}
