package io.lookalike.image;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageReader;

/**
 * Detects photos whose bytes stop early. The JDK's JPEG decoder fills the missing rows with grey
 * and only reports a warning, so the first third of a JPEG would otherwise be indexed as a photo;
 * PNG and WebP files carry an end marker (IEND chunk) or their length (RIFF header) to check
 * against.
 */
final class ImageIntegrity {

  private static final byte[] PNG_IEND = {
    0, 0, 0, 0, 'I', 'E', 'N', 'D', (byte) 0xAE, 0x42, 0x60, (byte) 0x82
  };

  private ImageIntegrity() {}

  /** The reason the bytes are incomplete, checked before decoding; null when they look whole. */
  static String incomplete(byte[] bytes, String format) {
    switch (format) {
      case "png" -> {
        // IEND is the last chunk; tolerate a little trailing padding some encoders add
        int from = Math.max(8, bytes.length - PNG_IEND.length - 64);
        for (int i = bytes.length - PNG_IEND.length; i >= from; i--) {
          if (matches(bytes, i, PNG_IEND)) {
            return null;
          }
        }
        return "truncated PNG: no IEND chunk at the end";
      }
      case "webp" -> {
        long riffSize =
            (bytes[4] & 0xffL)
                | (bytes[5] & 0xffL) << 8
                | (bytes[6] & 0xffL) << 16
                | (bytes[7] & 0xffL) << 24;
        return bytes.length < riffSize + 8
            ? "truncated WebP: " + bytes.length + " bytes of " + (riffSize + 8)
            : null;
      }
      default -> {
        return null; // JPEG: see Warnings, the decoder knows where the scan data ends
      }
    }
  }

  /** Collects a reader's warnings that mean data is missing (truncated file, premature end). */
  static final class Warnings {
    private final List<String> missingData = new ArrayList<>();

    void listenTo(ImageReader reader) {
      reader.addIIOReadWarningListener(
          (source, message) -> {
            String m = message == null ? "" : message.toLowerCase(Locale.ROOT);
            if (m.contains("truncated")
                || m.contains("premature end")
                || m.contains("missing eoi")) {
              missingData.add(message);
            }
          });
    }

    /** The first such warning, null when there was none. */
    String missingData() {
      return missingData.isEmpty() ? null : missingData.get(0);
    }
  }

  private static boolean matches(byte[] bytes, int at, byte[] pattern) {
    for (int j = 0; j < pattern.length; j++) {
      if (bytes[at + j] != pattern[j]) {
        return false;
      }
    }
    return true;
  }
}
