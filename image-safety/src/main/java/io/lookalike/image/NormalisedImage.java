package io.lookalike.image;

/**
 * A verified photo re-encoded for the pipeline.
 *
 * @param bytes the normalised image (JPEG)
 * @param mediaType media type of {@code bytes}, {@code image/jpeg}
 * @param width width of the normalised image in pixels
 * @param height height of the normalised image in pixels
 * @param sha256 lowercase hex sha256 of the original (fetched or uploaded) bytes
 */
public record NormalisedImage(
    byte[] bytes, String mediaType, int width, int height, String sha256) {}
