package io.lookalike.gateway;

import io.lookalike.schemas.ChangeToken;
import io.lookalike.store.StoredImage;
import io.lookalike.store.VectorStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Read-your-writes for a gateway that sees only the active index (the distributed mode's, through
 * the Milvus alias): a change is <b>indexed</b>, and so searchable, when the index holds the
 * product with every image at the token's version or later (for a delete: no image), read at strong
 * consistency ({@link VectorStore#strong()}), so that a search made after at the same level sees it
 * too. Where the change is before the index (fetched, embedded) this gateway cannot tell: those are
 * null in {@code GET /v1/status}.
 */
public final class StoreChangeStatus implements ChangeStatus {

  private final Supplier<ActiveModel> active;

  public StoreChangeStatus(Supplier<ActiveModel> active) {
    this.active = active;
  }

  @Override
  public Object status(ChangeToken token) {
    ActiveModel model = active.get();
    VectorStore store = model == null ? null : model.store().strong();
    List<Map<String, Object>> changes = new ArrayList<>();
    boolean searchable = store != null;
    for (ChangeToken.Change change : token.changes()) {
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("productId", change.productId());
      one.put("version", change.version());
      one.put("type", change.delete() ? "DELETE" : "UPSERT");
      one.put("fetched", null); // the fetcher's state is not this gateway's to read
      Map<String, Object> models = new LinkedHashMap<>();
      if (store != null) {
        boolean indexed = indexed(store, change);
        searchable &= indexed;
        Map<String, Object> where = new LinkedHashMap<>();
        where.put("embedded", indexed ? Boolean.TRUE : null);
        where.put("indexed", indexed);
        models.put(model.modelId(), where);
      }
      one.put("models", models);
      changes.add(one);
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("active", model == null ? null : model.modelId());
    body.put("fetched", null);
    body.put("searchable", searchable);
    body.put("changes", changes);
    return body;
  }

  @Override
  public boolean searchable(ChangeToken token) {
    ActiveModel model = active.get();
    if (model == null) {
      return false;
    }
    VectorStore store = model.store().strong();
    for (ChangeToken.Change change : token.changes()) {
      if (!indexed(store, change)) {
        return false;
      }
    }
    return true;
  }

  static boolean indexed(VectorStore store, ChangeToken.Change change) {
    List<StoredImage> images = store.imagesOf(change.productId());
    if (change.delete()) {
      return images.isEmpty();
    }
    return !images.isEmpty() && images.stream().allMatch(i -> i.version() >= change.version());
  }
}
