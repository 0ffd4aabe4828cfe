package io.lookalike.gateway;

/**
 * One model known to the gateway, as {@code GET /v1/models} lists it.
 *
 * @param createdAt when it was registered, ISO-8601, null when unknown
 * @param vectors images in its index, -1 when unknown
 * @param lag embeddings not yet indexed plus images not yet embedded, -1 when unknown
 * @param state {@link #ACTIVE}, {@link #READY} (caught up, can be switched to), {@link
 *     #CATCHING_UP} or {@link #REFUSED}
 * @param reason why it is refused (the quality gate's verdict, or its first batch's NaN/zero
 *     vectors); null otherwise
 * @param shadow how its answers to mirrored live searches agree with the active model's ({@link
 *     ShadowTraffic}); null when none was mirrored to it
 */
public record ModelStatus(
    String modelId,
    String name,
    String url,
    int dimension,
    long vectors,
    long lag,
    String state,
    String createdAt,
    String reason,
    ShadowTraffic.Summary shadow) {

  public static final String ACTIVE = "active";
  public static final String READY = "ready";
  public static final String CATCHING_UP = "catching_up";

  /**
   * Refused by the quality gate or broken on its first batch: cannot be switched to, and does not
   * consume unless asked to stay warm.
   */
  public static final String REFUSED = "refused";

  public ModelStatus(
      String modelId,
      String name,
      String url,
      int dimension,
      long vectors,
      long lag,
      String state,
      String createdAt,
      String reason) {
    this(modelId, name, url, dimension, vectors, lag, state, createdAt, reason, null);
  }

  /** The same, with its shadow-traffic agreement. */
  public ModelStatus withShadow(ShadowTraffic.Summary summary) {
    return new ModelStatus(
        modelId, name, url, dimension, vectors, lag, state, createdAt, reason, summary);
  }

  public ModelStatus(
      String modelId,
      String name,
      String url,
      int dimension,
      long vectors,
      long lag,
      String state,
      String createdAt) {
    this(modelId, name, url, dimension, vectors, lag, state, createdAt, null);
  }
}
