package io.lookalike.gateway;

/**
 * A search that cannot be answered, with the {@link ErrorCode} (HTTP status and stable {@code
 * code}) that the gateway returns as {@code {"error": message, "code": code}}.
 */
public class SearchException extends RuntimeException {

  private final ErrorCode error;

  public SearchException(ErrorCode error, String message) {
    this(error, message, null);
  }

  public SearchException(ErrorCode error, String message, Throwable cause) {
    super(message, cause);
    this.error = error;
  }

  public ErrorCode error() {
    return error;
  }

  public int status() {
    return error.status();
  }

  public String code() {
    return error.code();
  }

  public static SearchException badRequest(String message) {
    return new SearchException(ErrorCode.BAD_REQUEST, message);
  }

  public static SearchException notFound(String message) {
    return new SearchException(ErrorCode.NOT_FOUND, message);
  }

  public static SearchException tooLarge(long maxBytes) {
    return new SearchException(ErrorCode.TOO_LARGE, "image larger than " + humanBytes(maxBytes));
  }

  /**
   * The error for an image rejected with one of the ingest reason codes, by its {@link ErrorCode}
   * ({@code unsupported_type} 415, {@code too_large} and {@code too_many_pixels} 413, the others
   * 400); a reason the gateway has no code for is a {@code bad_request}.
   */
  public static SearchException rejectedImage(String reasonCode, String message, Throwable cause) {
    ErrorCode error = ErrorCode.of(reasonCode).orElse(ErrorCode.BAD_REQUEST);
    // Decoder and network messages name internal classes: those reasons get a fixed message
    // instead.
    String shown =
        switch (error) {
          case CORRUPT_IMAGE, FETCH_FAILED, FETCH_TIMEOUT, URL_NOT_FOUND -> error.description();
          default -> message;
        };
    return new SearchException(error, shown, cause);
  }

  static String humanBytes(long bytes) {
    if (bytes % (1024 * 1024) == 0) {
      return bytes / (1024 * 1024) + " MiB";
    }
    if (bytes % 1024 == 0) {
      return bytes / 1024 + " KiB";
    }
    return bytes + " bytes";
  }
}
