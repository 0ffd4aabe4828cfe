package io.lookalike.gateway;

import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.RejectedImageException;

/**
 * Checks a query photo before it is embedded and returns the bytes to embed (possibly normalised):
 * the same rules as catalog photos (signature, size, pixel count, decodability).
 */
@FunctionalInterface
public interface PhotoValidator {

  /**
   * Throws a {@link SearchException} (see {@link SearchException#rejectedImage}) for a photo it
   * refuses.
   */
  byte[] validate(byte[] photo);

  /**
   * The ingest rules: a photo the catalog would refuse is refused as a query, with the same reason
   * code.
   */
  static PhotoValidator of(ImageNormaliser normaliser) {
    return photo -> {
      try {
        return normaliser.normalise(photo).bytes();
      } catch (RejectedImageException e) {
        throw SearchException.rejectedImage(e.reasonCode(), e.getMessage(), e);
      }
    };
  }
}
