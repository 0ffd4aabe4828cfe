package io.lookalike.model;

import java.util.List;

/**
 * Turns encoded photos (JPEG, PNG, WebP bytes) into L2-normalised vectors with one model. Owns the
 * model: close it to release it. Implementations are thread-safe.
 */
public interface Embedder extends AutoCloseable {

  /** Which model this is: its id goes into topic, index and collection names. */
  ModelInfo model();

  /**
   * Embeds a batch. Result {@code i} belongs to image {@code i}: a vector, or the reason that image
   * alone could not be embedded (an undecodable image fails only itself, never the batch).
   */
  List<EmbeddingResult> embed(List<byte[]> images);

  @Override
  void close();
}
