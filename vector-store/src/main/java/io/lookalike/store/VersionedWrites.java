package io.lookalike.store;

import io.lookalike.schemas.ImageKey;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The rules every store applies to a batch of writes, written once: an upsert older than the
 * version stored (or written earlier in the batch) for its key is stale and skipped, newer or equal
 * replaces it; a delete removes the key whatever its version; later entries of a key see earlier
 * ones. Vectors must have the store's dimension.
 *
 * @param upserts the accepted upserts, the newest of each key, in first-seen order, without those
 *     deleted later
 * @param deletes the keys to delete
 * @param result the counts the store reports
 */
public record VersionedWrites(
    List<StoredImage> upserts, List<ImageKey> deletes, VectorStore.WriteResult result) {

  /**
   * Plans a batch.
   *
   * @param storedVersion the stored version of a key ({@code productId/imageId}), null when absent
   */
  public static VersionedWrites plan(
      Collection<StoredImage> upserts,
      Collection<ImageKey> deletes,
      Function<String, Long> storedVersion,
      int dimension,
      String modelId) {
    Map<String, Long> pending = new HashMap<>();
    Map<String, StoredImage> accepted = new LinkedHashMap<>();
    int upserted = 0;
    int stale = 0;
    for (StoredImage image : upserts) {
      String key = image.key().toString();
      Long current = pending.containsKey(key) ? pending.get(key) : storedVersion.apply(key);
      if (current != null && image.version() < current) {
        stale++;
        continue;
      }
      checkVector(image.vector(), dimension, modelId);
      accepted.put(key, image);
      pending.put(key, image.version());
      upserted++;
    }
    int deleted = 0;
    List<ImageKey> toDelete = new ArrayList<>();
    for (ImageKey imageKey : deletes) {
      String key = imageKey.toString();
      Long current = pending.containsKey(key) ? pending.get(key) : storedVersion.apply(key);
      if (current != null) {
        deleted++;
      }
      accepted.remove(key);
      pending.put(key, null);
      toDelete.add(imageKey);
    }
    return new VersionedWrites(
        List.copyOf(accepted.values()),
        List.copyOf(toDelete),
        new VectorStore.WriteResult(upserted, stale, deleted));
  }

  /** Fails unless {@code vector} has the store's {@code dimension}. */
  public static void checkVector(float[] vector, int dimension, String modelId) {
    if (vector == null || vector.length != dimension) {
      throw new IllegalArgumentException(
          "Expected a vector of "
              + dimension
              + " dimensions for model "
              + modelId
              + ", got "
              + (vector == null ? "none" : vector.length));
    }
  }

  /** Fails unless a store of {@code dimension} dimensions can be made (1 to {@code max}). */
  public static void checkDimension(int dimension, int max) {
    if (dimension < 1 || dimension > max) {
      throw new IllegalArgumentException("dimension must be in [1, " + max + "]: " + dimension);
    }
  }
}
