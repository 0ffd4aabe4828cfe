package io.lookalike.ingest;

import io.lookalike.schemas.ProductEvent;

/**
 * The order of one product's events, the same for every way in (feed, loader, webhook, Kafka
 * producers): by {@code version}, then by {@code occurredAt}. The fetcher applies an event only if
 * it is newer than the last one it processed, so a late older event never overwrites a newer one,
 * an exact re-delivery is dropped, and an event that repeats the version with a later occurredAt
 * wins: that is how a feed's synthetic DELETE (the product's last version, occurredAt = when it
 * went missing) removes the product, and how re-listing it afterwards brings it back even when the
 * feed keeps its version number. See docs/connect.md, "Versions".
 */
final class EventOrder {

  private EventOrder() {}

  /** Whether {@code event} comes after what {@code state} (null: nothing seen yet) records. */
  static boolean isNewer(ProductEvent event, ProductState state) {
    if (state == null) {
      return true;
    }
    if (event.getVersion() != state.version()) {
      return event.getVersion() > state.version();
    }
    return event.getOccurredAt().toEpochMilli() > state.occurredAt();
  }
}
