package io.lookalike.gateway;

import io.lookalike.image.ImageDownloader;
import io.lookalike.image.RejectedImageException;

/** Downloads the photo behind an image URL given in a search request. */
@FunctionalInterface
public interface UrlFetcher {

  /**
   * Throws a {@link SearchException} (see {@link SearchException#rejectedImage}) when it cannot.
   */
  byte[] fetch(String url);

  /** Downloads with the image fetcher's downloader (its limits, timeouts, and file: setting). */
  static UrlFetcher of(ImageDownloader downloader) {
    return url -> {
      try {
        return downloader.download(url);
      } catch (RejectedImageException e) {
        // "not_found" alone would read like an unknown product
        String code =
            RejectedImageException.NOT_FOUND.equals(e.reasonCode())
                ? ErrorCode.URL_NOT_FOUND.code()
                : e.reasonCode();
        throw SearchException.rejectedImage(code, e.getMessage(), e);
      }
    };
  }
}
