package io.lookalike.model;

/**
 * A model that loads but whose output cannot be used (NaN, infinity); the message names no server
 * path, so it may be shown to the caller as it is.
 */
public final class BadModelOutputException extends IllegalStateException {

  public BadModelOutputException(String message) {
    super(message);
  }
}
