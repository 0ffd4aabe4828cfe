package io.lookalike.ingest;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * What the fetcher remembers of one product (its state store value): the last version processed and
 * its {@code occurredAt} (epoch ms; 0 in states written before it was kept), whether that was a
 * delete, and the images it currently has on {@code product-images}.
 */
record ProductState(long version, long occurredAt, boolean deleted, Map<String, Image> images) {

  /** One published image: enough to tell an unchanged re-publish from a change. */
  record Image(String url, String sha256, String metadataHash, int position) {}

  ProductState {
    images = images == null ? Map.of() : Map.copyOf(images);
  }

  /**
   * The version rule (docs/producing.md): an event is newer when its version is higher, or equal
   * with a later occurredAt; anything else (older, or the same event again) is stale.
   */
  boolean isNewer(long otherVersion, long otherOccurredAt) {
    return otherVersion > version || (otherVersion == version && otherOccurredAt > occurredAt);
  }

  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  /** JSON, so that the changelog stays readable and new fields can be added later. */
  static Serde<ProductState> serde() {
    return Serdes.serdeFrom(
        (topic, state) -> {
          try {
            return state == null ? null : JSON.writeValueAsBytes(state);
          } catch (IOException e) {
            throw new SerializationException("Cannot encode product state", e);
          }
        },
        (topic, bytes) -> {
          try {
            return bytes == null ? null : JSON.readValue(bytes, ProductState.class);
          } catch (IOException e) {
            throw new SerializationException("Cannot decode product state", e);
          }
        });
  }
}
