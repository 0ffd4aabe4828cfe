package io.lookalike.gateway;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Every error the gateway answers with: the stable {@code code} of the JSON body ({@code {"error":
 * "image larger than 10 MiB", "code": "too_large"}}), its HTTP status and what it means. The table
 * in docs/api.md is {@link #markdownTable()}, checked by a test.
 */
public enum ErrorCode {
  BAD_REQUEST(
      "bad_request",
      400,
      "a malformed request: invalid JSON, a missing or extra field, k out of range"),
  BAD_FILTER(
      "bad_filter",
      400,
      "an unknown filter or parameter, or a filter value that is not allowed (the message lists the allowed ones)"),
  BAD_BOOST(
      "bad_boost", 400, "a boost that is unknown or malformed (see docs/api.md, business ranking)"),
  BAD_CROP(
      "bad_crop",
      400,
      "a crop that is not four fractions x,y,w,h in 0..1, is empty or reaches outside the photo,"
          + " or is given with a search that has no photo (product, vector, text)"),
  EMPTY("empty", 400, "the image has no bytes"),
  CORRUPT_IMAGE("corrupt_image", 400, "the image could not be decoded"),
  BAD_VECTOR(
      "bad_vector", 400, "a vector of the wrong dimension, with a non-finite value, or all zeros"),
  URL_NOT_FOUND("url_not_found", 400, "nothing found at the image URL"),
  FETCH_FAILED("fetch_failed", 400, "the image URL could not be fetched"),
  FETCH_TIMEOUT("fetch_timeout", 400, "fetching the image URL timed out"),
  SCHEME_NOT_ALLOWED(
      "scheme_not_allowed",
      400,
      "the image URL's scheme is not http or https (or a file: URL where none is allowed)"),
  SSRF_BLOCKED(
      "ssrf_blocked",
      400,
      "the image URL's host resolves to a private, loopback or metadata address"),
  BAD_MODEL(
      "bad_model",
      400,
      "admin API: the model cannot be loaded from the given URL, or cannot be used (more dimensions"
          + " than an index holds, NaN output)"),
  UNAUTHORIZED(
      "unauthorized",
      401,
      "admin API: no or a wrong 'Authorization: Bearer <secret>' (gateway.admin.secret or <data-dir>/admin.secret)"),
  CROSS_ORIGIN(
      "cross_origin",
      403,
      "admin API: asked by a web page of another origin or site (Origin, Sec-Fetch-Site)"),
  FORBIDDEN(
      "forbidden",
      403,
      "admin API: asked from another machine while gateway.admin.allow.remote is false"),
  NOT_FOUND("not_found", 404, "an unknown product, image or path"),
  UNKNOWN_MODEL("unknown_model", 404, "admin API: no model of that id is registered"),
  METHOD_NOT_ALLOWED("method_not_allowed", 405, "the path does not take that HTTP method"),
  MODEL_MISMATCH(
      "model_mismatch",
      409,
      "the active index holds vectors of another model than the gateway embeds with"),
  NOT_CAUGHT_UP(
      "not_caught_up", 409, "admin API: the model has not caught up with the catalog yet"),
  ACTIVE_MODEL("active_model", 409, "admin API: the active model cannot be dropped or refused"),
  REFUSED_MODEL(
      "refused_model",
      409,
      "admin API: the model was refused (quality gate or broken first batch); register it again"
          + " to retry"),
  TOO_LARGE("too_large", 413, "the body or image is larger than gateway.max.upload.bytes"),
  TOO_MANY_PIXELS("too_many_pixels", 413, "the image has more pixels than image.max.pixels"),
  UNSUPPORTED_TYPE(
      "unsupported_type",
      415,
      "not a JPEG, PNG or WebP by its bytes, or a request of another content type"),
  MISDIRECTED(
      "misdirected",
      421,
      "admin API: a Host header this server does not answer for (see gateway.allowed.hosts)"),
  CLIENT_GONE(
      "client_gone",
      499,
      "admin API: the client went away, so the work it asked for was cancelled"),
  INTERNAL("internal", 500, "an unexpected failure (logged; the answer never holds a stack trace)"),
  CONSISTENCY_UNSUPPORTED(
      "consistency_unsupported",
      501,
      "a read-your-writes token (status, consistentWith) on a gateway that cannot follow one (the"
          + " local mode's and lookalike gateway's can; one embedded without a ChangeStatus cannot)"),
  TEXT_UNSUPPORTED(
      "text_unsupported",
      501,
      "a text query (q) on an index without full-text search (a Milvus collection created before it)"),
  NO_INDEX(
      "no_index",
      503,
      "no model is active yet (distributed gateway: until the Milvus alias exists, i.e. the sink's first write)"),
  CHECK_TIMEOUT(
      "check_timeout",
      503,
      "admin API: a quality check ran past gateway.admin.check.budget.ms and was cancelled"),
  REGISTRY_UNAVAILABLE(
      "registry_unavailable",
      503,
      "admin API: the schema registry could not be reached, so the quality check did not run (it"
          + " never samples fewer photos instead): retry once the registry answers"),
  EMBED_BUSY(
      "embed_busy",
      503,
      "too many photo searches wait to be embedded (gateway.embed.queue.max): retry shortly"),
  INTERRUPTED("interrupted", 503, "the server is stopping: the call was interrupted"),
  NOT_YET_SEARCHABLE(
      "not_yet_searchable",
      504,
      "consistentWith: the token's changes were not searchable within"
          + " gateway.consistency.max.wait.ms (GET /v1/status?token= says where they are)");

  private final String code;
  private final int status;
  private final String description;

  ErrorCode(String code, int status, String description) {
    this.code = code;
    this.status = status;
    this.description = description;
  }

  /** The {@code code} field of the JSON body. */
  public String code() {
    return code;
  }

  public int status() {
    return status;
  }

  public String description() {
    return description;
  }

  /**
   * The error of that code (an image rejection reason such as {@code too_many_pixels}), if there is
   * one.
   */
  public static Optional<ErrorCode> of(String code) {
    return Arrays.stream(values()).filter(e -> e.code.equals(code)).findFirst();
  }

  /**
   * The error an HTTP status of the web framework itself (404 for an unknown path, 405, ...) is
   * answered with.
   */
  static ErrorCode forStatus(int status) {
    return switch (status) {
      case 404 -> NOT_FOUND;
      case 405 -> METHOD_NOT_ALLOWED;
      case 413 -> TOO_LARGE;
      case 415 -> UNSUPPORTED_TYPE;
      default -> status >= 500 ? INTERNAL : BAD_REQUEST;
    };
  }

  /** The error table of docs/api.md. */
  public static String markdownTable() {
    return "| status | code | meaning |\n| --- | --- | --- |\n"
        + Arrays.stream(values())
            .map(e -> "| " + e.status + " | `" + e.code + "` | " + e.description + " |\n")
            .collect(Collectors.joining());
  }
}
