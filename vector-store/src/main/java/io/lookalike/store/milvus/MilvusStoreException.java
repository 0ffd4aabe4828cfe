package io.lookalike.store.milvus;

/**
 * A call to Milvus failed: {@link #isTransient()} when retrying later may succeed (Milvus
 * unreachable or overloaded past the retry budget), otherwise permanently (bad request, schema
 * mismatch, auth).
 */
public final class MilvusStoreException extends RuntimeException {

  private final boolean transientFailure;

  MilvusStoreException(String message, boolean transientFailure, Throwable cause) {
    super(message, cause);
    this.transientFailure = transientFailure;
  }

  public boolean isTransient() {
    return transientFailure;
  }
}
