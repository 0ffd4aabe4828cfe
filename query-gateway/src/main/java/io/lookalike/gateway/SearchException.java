package io.lookalike.gateway;

/**
 * A search that cannot be answered, with the HTTP status and the stable {@code code} that the gateway
 * returns as {@code {"error": message, "code": code}}.
 */
public class SearchException extends RuntimeException {

  private final int status;
  private final String code;

  public SearchException(int status, String code, String message) {
    this(status, code, message, null);
  }

  public SearchException(int status, String code, String message, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.code = code;
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }

  public static SearchException badRequest(String message) {
    return new SearchException(400, "bad_request", message);
  }

  public static SearchException notFound(String message) {
    return new SearchException(404, "not_found", message);
  }

  public static SearchException tooLarge(long maxBytes) {
    return new SearchException(413, "too_large", "image larger than " + humanBytes(maxBytes));
  }

  /**
   * The status for an image rejected with one of the ingest reason codes: {@code unsupported_type} is
   * 415, {@code too_large} and {@code too_many_pixels} are 413, everything else (empty, corrupt_image, a
   * failed download: url_not_found, fetch_failed, fetch_timeout, scheme_not_allowed) is 400.
   */
  public static SearchException rejectedImage(String reasonCode, String message, Throwable cause) {
    int status = switch (reasonCode) {
      case "unsupported_type" -> 415;
      case "too_large", "too_many_pixels" -> 413;
      default -> 400;
    };
    // Decoder and network messages name internal classes: those reasons get a fixed message instead.
    String shown = switch (reasonCode) {
      case "corrupt_image" -> "the image could not be decoded";
      case "fetch_failed" -> "the image URL could not be fetched";
      case "fetch_timeout" -> "fetching the image URL timed out";
      case "url_not_found" -> "nothing found at the image URL";
      default -> message;
    };
    return new SearchException(status, reasonCode, shown, cause);
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
