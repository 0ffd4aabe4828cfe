package io.lookalike.ingest;

import io.lookalike.image.ImageDownloader;
import io.lookalike.image.ImageNormaliser;
import io.lookalike.image.NormalisedImage;
import io.lookalike.image.RejectedImageException;

/**
 * Fetches the photo behind a URL and normalises it; the fetcher topology's only view of the
 * outside.
 */
@FunctionalInterface
public interface ImageFetcher {

  NormalisedImage fetch(String url) throws RejectedImageException;

  /** Downloads with {@code downloader}, then verifies and normalises with {@code normaliser}. */
  static ImageFetcher of(ImageDownloader downloader, ImageNormaliser normaliser) {
    return url -> normaliser.normalise(downloader.download(url));
  }
}
