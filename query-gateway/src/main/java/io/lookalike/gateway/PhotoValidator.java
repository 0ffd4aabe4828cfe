package io.lookalike.gateway;

import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.Region;
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
   * As {@link #validate(byte[])}, keeping only {@code crop} (null: the whole photo) of the upright
   * photo. This default cuts the region from what {@link #validate(byte[])} returns; {@link #of}
   * cuts it from the decoded original, at its full resolution.
   */
  default byte[] validate(byte[] photo, Region crop) {
    byte[] valid = validate(photo);
    if (crop == null || crop.isWhole()) {
      return valid;
    }
    try {
      return new ImageNormaliser().normalise(valid, crop).bytes();
    } catch (RejectedImageException e) {
      throw SearchException.rejectedImage(e.reasonCode(), e.getMessage(), e);
    }
  }

  /**
   * The ingest rules: a photo the catalog would refuse is refused as a query, with the same reason
   * code.
   */
  static PhotoValidator of(ImageNormaliser normaliser) {
    return new PhotoValidator() {
      @Override
      public byte[] validate(byte[] photo) {
        return validate(photo, null);
      }

      @Override
      public byte[] validate(byte[] photo, Region crop) {
        try {
          return normaliser.normalise(photo, crop).bytes();
        } catch (RejectedImageException e) {
          throw SearchException.rejectedImage(e.reasonCode(), e.getMessage(), e);
        }
      }
    };
  }
}
