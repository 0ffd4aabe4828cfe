package io.lookalike.image;

/**
 * A permanent refusal of an image (or of the event naming it), with a short stable reason code that
 * metrics count by and dead-letter headers carry.
 */
public class RejectedImageException extends Exception {

  public static final String EMPTY = "empty";
  public static final String TOO_LARGE = "too_large";
  public static final String UNSUPPORTED_TYPE = "unsupported_type";
  public static final String TOO_MANY_PIXELS = "too_many_pixels";
  public static final String CORRUPT_IMAGE = "corrupt_image";
  public static final String NOT_FOUND = "not_found";
  public static final String FETCH_FAILED = "fetch_failed";
  public static final String FETCH_TIMEOUT = "fetch_timeout";
  public static final String SCHEME_NOT_ALLOWED = "scheme_not_allowed";

  /**
   * The URL (or a redirect) points at a loopback, private, link-local or metadata address: see
   * {@link UrlGuard}.
   */
  public static final String SSRF_BLOCKED = "ssrf_blocked";

  public static final String INVALID_EVENT = "invalid_event";

  /** The image's host name does not resolve (or resolves to no address). */
  public static final String DNS_FAILURE = "dns_failure";

  private final String reasonCode;

  public RejectedImageException(String reasonCode, String message) {
    this(reasonCode, message, null);
  }

  public RejectedImageException(String reasonCode, String message, Throwable cause) {
    super(message, cause);
    this.reasonCode = reasonCode;
  }

  /** One of the constants of this class, e.g. {@code corrupt_image}. */
  public String reasonCode() {
    return reasonCode;
  }
}
