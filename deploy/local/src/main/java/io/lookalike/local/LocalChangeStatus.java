package io.lookalike.local;

import io.lookalike.gateway.ActiveModel;
import io.lookalike.gateway.ChangeStatus;
import io.lookalike.ingest.FetcherApp;
import io.lookalike.lifecycle.ModelLifecycleException;
import io.lookalike.lifecycle.ModelPipelines;
import io.lookalike.schemas.ChangeToken;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a read-your-writes token's product versions are in the local mode. <b>fetched</b>: the
 * fetcher's state holds that version of the product or a later one (its images were published or
 * dead-lettered). <b>indexed</b> (per model): the model's index holds the product with every image
 * at that version or later (for a delete: no image). <b>embedded</b> (per model): indexed, or
 * fetched while the model's embedder has nothing left to read on product-images (so it read the
 * published images). Searchable: indexed in the active model's index. A product whose images were
 * all dead-lettered is fetched but never indexed.
 */
final class LocalChangeStatus implements ChangeStatus {

  private final FetcherApp fetcher;
  private final ModelPipelines pipelines;

  LocalChangeStatus(FetcherApp fetcher, ModelPipelines pipelines) {
    this.fetcher = fetcher;
    this.pipelines = pipelines;
  }

  @Override
  public Object status(ChangeToken token) {
    ActiveModel active = pipelines.active();
    List<Map<String, Object>> changes = new ArrayList<>();
    boolean allFetched = true;
    boolean searchable = true;
    for (ChangeToken.Change change : token.changes()) {
      boolean fetched = fetched(change);
      allFetched &= fetched;
      Map<String, Object> models = new LinkedHashMap<>();
      for (String modelId : pipelines.modelIds()) {
        boolean indexed;
        long embedderLag;
        try {
          indexed = indexed(pipelines.pipeline(modelId).store(), change);
          embedderLag = pipelines.progress(modelId).embedderLag();
        } catch (ModelLifecycleException e) {
          continue; // dropped meanwhile
        }
        boolean embedded = indexed || (fetched && embedderLag == 0);
        models.put(modelId, Map.of("embedded", embedded, "indexed", indexed));
        if (active != null && active.modelId().equals(modelId)) {
          searchable &= indexed;
        }
      }
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("productId", change.productId());
      one.put("version", change.version());
      one.put("type", change.delete() ? "DELETE" : "UPSERT");
      one.put("fetched", fetched);
      one.put("models", models);
      changes.add(one);
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("active", active == null ? null : active.modelId());
    body.put("fetched", allFetched);
    body.put("searchable", active != null && searchable);
    body.put("changes", changes);
    return body;
  }

  @Override
  public boolean searchable(ChangeToken token) {
    ActiveModel active = pipelines.active();
    if (active == null) {
      return false;
    }
    for (ChangeToken.Change change : token.changes()) {
      if (!indexed(active.store(), change)) {
        return false;
      }
    }
    return true;
  }

  private boolean fetched(ChangeToken.Change change) {
    return fetcher.processedVersion(change.productId()).orElse(Long.MIN_VALUE) >= change.version();
  }

  private static boolean indexed(VectorStore store, ChangeToken.Change change) {
    List<StoredImage> images = store.imagesOf(change.productId());
    if (change.delete()) {
      return images.isEmpty();
    }
    return !images.isEmpty() && images.stream().allMatch(i -> i.version() >= change.version());
  }
}
