package io.lookalike.schemas.registry;

/**
 * The schema registry cannot be asked right now (unreachable, timing out, a 5xx, refusing our
 * credentials): retriable, the record is not at fault. Stages never dead-letter a record for it; a
 * Streams stage lets it fail the stream thread (its transaction is aborted, so no output nor dead
 * letter of the attempt is seen, and the record is read again by the replacement thread), a sink
 * replays the batch after a back-off.
 */
public final class RegistryUnavailableException extends RuntimeException {

  public RegistryUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
