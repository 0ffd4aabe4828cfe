package io.lookalike.model;

/** The outcome for one image of a batch: its vector, or why it has none. */
public sealed interface EmbeddingResult {

  /** An L2-normalised vector. */
  record Vector(float[] values) implements EmbeddingResult {}

  /**
   * The image could not be embedded. {@code reasonCode} is a short stable token for metrics and
   * dead-letter headers (e.g. {@code undecodable_image}); {@code reason} is for people.
   */
  record Failed(String reasonCode, String reason, Throwable cause) implements EmbeddingResult {}
}
