package io.lookalike.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.BodySubscribers;
import java.net.http.HttpResponse.ResponseInfo;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.config.AbstractConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Downloads an image over http(s) (or from a {@code file:} URL in the local mode) with a byte limit
 * enforced while streaming, timeouts, bounded redirects and bounded retries of transient failures.
 * Thread-safe; one instance shares one {@link HttpClient}.
 */
public class ImageDownloader {

  private static final Logger log = LoggerFactory.getLogger(ImageDownloader.class);
  private static final String USER_AGENT = "lookalike-image-fetcher/0.1";

  /**
   * The downloader's limits.
   *
   * @param maxPerHost most requests in flight to one host at a time
   * @param retryAfterMax longest Retry-After honoured; a longer one fails the image at once
   * @param ssrfGuard whether {@link UrlGuard} checks the addresses (the scheme is always checked)
   * @param allowedHosts host names, IP addresses or CIDR ranges the guard lets through
   */
  public record Options(
      long maxBytes,
      Duration connectTimeout,
      Duration timeout,
      int maxRedirects,
      int retries,
      Duration retryBackoff,
      boolean allowFile,
      int maxPerHost,
      Duration retryAfterMax,
      boolean ssrfGuard,
      List<String> allowedHosts) {

    public Options {
      allowedHosts = List.copyOf(allowedHosts);
    }

    /**
     * With the SSRF guard on, no allow-list, 8 requests per host and Retry-After capped at 30 s.
     */
    public Options(
        long maxBytes,
        Duration connectTimeout,
        Duration timeout,
        int maxRedirects,
        int retries,
        Duration retryBackoff,
        boolean allowFile) {
      this(
          maxBytes,
          connectTimeout,
          timeout,
          maxRedirects,
          retries,
          retryBackoff,
          allowFile,
          8,
          Duration.ofSeconds(30),
          true,
          List.of());
    }

    public static Options defaults() {
      return from(new ImageSafetyConfig(Map.of()));
    }

    public static Options from(AbstractConfig c) {
      return new Options(
          c.getLong(ImageSafetyConfig.FETCH_MAX_BYTES_CONFIG),
          Duration.ofMillis(c.getInt(ImageSafetyConfig.FETCH_CONNECT_TIMEOUT_MS_CONFIG)),
          Duration.ofMillis(c.getInt(ImageSafetyConfig.FETCH_TIMEOUT_MS_CONFIG)),
          c.getInt(ImageSafetyConfig.FETCH_MAX_REDIRECTS_CONFIG),
          c.getInt(ImageSafetyConfig.FETCH_RETRIES_CONFIG),
          Duration.ofMillis(c.getInt(ImageSafetyConfig.FETCH_RETRY_BACKOFF_MS_CONFIG)),
          c.getBoolean(ImageSafetyConfig.FETCH_ALLOW_FILE_CONFIG),
          c.getInt(ImageSafetyConfig.FETCH_MAX_PER_HOST_CONFIG),
          Duration.ofMillis(c.getInt(ImageSafetyConfig.FETCH_RETRY_AFTER_MAX_MS_CONFIG)),
          c.getBoolean(ImageSafetyConfig.FETCH_SSRF_GUARD_CONFIG),
          c.getList(ImageSafetyConfig.FETCH_ALLOWED_HOSTS_CONFIG));
    }

    /** These options with the SSRF guard on or off and the given allow-list. */
    public Options withGuard(boolean on, List<String> allowList) {
      return new Options(
          maxBytes,
          connectTimeout,
          timeout,
          maxRedirects,
          retries,
          retryBackoff,
          allowFile,
          maxPerHost,
          retryAfterMax,
          on,
          allowList);
    }
  }

  /**
   * A failure worth retrying: a timeout, a connection error, a 5xx or a 429 (with the server's
   * Retry-After, if any).
   */
  private static final class TransientFailure extends Exception {
    final boolean timeout;
    final Duration retryAfter;

    TransientFailure(String message, boolean timeout, Throwable cause) {
      this(message, timeout, cause, null);
    }

    TransientFailure(String message, boolean timeout, Throwable cause, Duration retryAfter) {
      super(message, cause);
      this.timeout = timeout;
      this.retryAfter = retryAfter;
    }
  }

  private final Options options;
  private final UrlGuard guard;
  private final HttpClient client;
  private final Map<String, Semaphore> perHost = new ConcurrentHashMap<>();

  public ImageDownloader(Options options) {
    this(
        options,
        new UrlGuard(
            options.allowFile(),
            options.ssrfGuard(),
            options.allowedHosts(),
            UrlGuard.SYSTEM_RESOLVER));
  }

  /** With a guard of one's own (e.g. with another resolver). */
  public ImageDownloader(Options options, UrlGuard guard) {
    this.options = options;
    this.guard = guard;
    // Redirects are followed by hand so that every hop is checked by checkTarget (scheme, SSRF).
    this.client =
        HttpClient.newBuilder()
            .connectTimeout(options.connectTimeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  public static ImageDownloader from(AbstractConfig config) {
    return new ImageDownloader(Options.from(config));
  }

  public byte[] download(String url) throws RejectedImageException {
    URI uri = parse(url);
    if ("file".equals(uri.getScheme())) {
      checkTarget(uri);
      return readFile(uri);
    }
    for (int attempt = 0; ; attempt++) {
      try {
        return fetchFollowingRedirects(uri);
      } catch (TransientFailure e) {
        if (attempt >= options.retries()) {
          throw new RejectedImageException(
              e.timeout
                  ? RejectedImageException.FETCH_TIMEOUT
                  : RejectedImageException.FETCH_FAILED,
              e.getMessage()
                  + (options.retries() > 0 ? " (after " + options.retries() + " retries)" : ""),
              e);
        }
        long backoff = options.retryBackoff().toMillis() << Math.min(attempt, 16);
        if (e.retryAfter != null) {
          if (e.retryAfter.compareTo(options.retryAfterMax()) > 0) {
            throw new RejectedImageException(
                RejectedImageException.FETCH_FAILED,
                e.getMessage()
                    + ": Retry-After of "
                    + e.retryAfter.toSeconds()
                    + " s is longer than "
                    + options.retryAfterMax().toSeconds()
                    + " s",
                e);
          }
          backoff = Math.max(backoff, e.retryAfter.toMillis());
        }
        log.info(
            "Retry {} of {} for {} in {} ms: {}",
            attempt + 1,
            options.retries(),
            url,
            backoff,
            e.getMessage());
        sleep(backoff);
      }
    }
  }

  /**
   * Refuses a target the fetcher must not reach: a scheme other than http(s) (file: when allowed)
   * and, with the SSRF guard on, hosts resolving to non-public addresses. Called for the first URL
   * and for every redirect hop, before any connection is opened.
   */
  protected void checkTarget(URI uri) throws RejectedImageException {
    guard.check(uri);
  }

  private static URI parse(String url) throws RejectedImageException {
    if (url == null || url.isBlank()) {
      throw new RejectedImageException(RejectedImageException.FETCH_FAILED, "no URL");
    }
    try {
      URI uri = new URI(url.trim());
      if (uri.getScheme() == null) {
        throw new RejectedImageException(
            RejectedImageException.SCHEME_NOT_ALLOWED, "URL has no scheme: " + url);
      }
      return uri;
    } catch (URISyntaxException e) {
      throw new RejectedImageException(
          RejectedImageException.FETCH_FAILED, "invalid URL: " + e.getMessage(), e);
    }
  }

  private byte[] fetchFollowingRedirects(URI start)
      throws RejectedImageException, TransientFailure {
    URI uri = start;
    for (int hop = 0; ; hop++) {
      checkTarget(uri);
      if ("file".equals(uri.getScheme())) {
        throw new RejectedImageException(
            RejectedImageException.SCHEME_NOT_ALLOWED, "redirect to a file: URL: " + uri);
      }
      HttpResponse<byte[]> response = send(uri);
      int status = response.statusCode();
      if (status >= 200 && status < 300) {
        return response.body();
      }
      if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
        String location = response.headers().firstValue("Location").orElse(null);
        if (location == null) {
          throw new RejectedImageException(
              RejectedImageException.FETCH_FAILED,
              "HTTP " + status + " without Location from " + uri);
        }
        if (hop >= options.maxRedirects()) {
          throw new RejectedImageException(
              RejectedImageException.FETCH_FAILED,
              "more than " + options.maxRedirects() + " redirects from " + start);
        }
        try {
          uri = uri.resolve(new URI(location.trim()));
        } catch (URISyntaxException | IllegalArgumentException e) {
          throw new RejectedImageException(
              RejectedImageException.FETCH_FAILED, "invalid redirect Location: " + location, e);
        }
        continue;
      }
      if (status == 429 || status >= 500) {
        Duration retryAfter =
            status == 429 || status == 503
                ? response
                    .headers()
                    .firstValue("Retry-After")
                    .map(ImageDownloader::retryAfter)
                    .orElse(null)
                : null;
        throw new TransientFailure("HTTP " + status + " from " + uri, false, null, retryAfter);
      }
      if (status == 404 || status == 410) {
        throw new RejectedImageException(
            RejectedImageException.NOT_FOUND, "HTTP " + status + " from " + uri);
      }
      throw new RejectedImageException(
          RejectedImageException.FETCH_FAILED, "HTTP " + status + " from " + uri);
    }
  }

  /** A Retry-After value, in seconds or as an HTTP date; null when unreadable. */
  static Duration retryAfter(String value) {
    String v = value.strip();
    try {
      return Duration.ofSeconds(Math.max(0, Long.parseLong(v)));
    } catch (NumberFormatException e) {
      try {
        Duration d =
            Duration.between(
                Instant.now(), ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME));
        return d.isNegative() ? Duration.ZERO : d;
      } catch (DateTimeParseException ignored) {
        return null;
      }
    }
  }

  /**
   * Sends one request while holding one of the host's permits, so no host gets more than its share.
   */
  private HttpResponse<byte[]> send(URI uri) throws RejectedImageException, TransientFailure {
    String host = uri.getHost().toLowerCase(Locale.ROOT);
    Semaphore permits = perHost.computeIfAbsent(host, h -> new Semaphore(options.maxPerHost()));
    try {
      if (!permits.tryAcquire(options.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
        throw new TransientFailure(
            "waited " + options.timeout().toMillis() + " ms for a free connection to " + host,
            true,
            null);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RejectedImageException(
          RejectedImageException.FETCH_FAILED, "interrupted waiting for " + host, e);
    }
    try {
      return sendNow(uri);
    } finally {
      permits.release();
    }
  }

  private HttpResponse<byte[]> sendNow(URI uri) throws RejectedImageException, TransientFailure {
    HttpRequest request =
        HttpRequest.newBuilder(uri)
            .timeout(options.timeout())
            .header("User-Agent", USER_AGENT)
            .header("Accept", "image/jpeg, image/png, image/webp, image/*;q=0.8")
            .GET()
            .build();
    CompletableFuture<HttpResponse<byte[]>> future = client.sendAsync(request, this::bodyHandler);
    try {
      // The request timeout covers only the wait for the headers; this bounds the whole body too.
      return future.get(options.timeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      future.cancel(true);
      throw new TransientFailure(
          "timed out after " + options.timeout().toMillis() + " ms fetching " + uri, true, e);
    } catch (InterruptedException e) {
      future.cancel(true);
      Thread.currentThread().interrupt();
      throw new RejectedImageException(
          RejectedImageException.FETCH_FAILED, "interrupted fetching " + uri, e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof TooLarge) {
        throw new RejectedImageException(
            RejectedImageException.TOO_LARGE, cause.getMessage() + " at " + uri, cause);
      }
      if (cause instanceof java.net.http.HttpTimeoutException) {
        throw new TransientFailure(
            "timed out fetching " + uri + ": " + cause.getMessage(), true, cause);
      }
      if (cause instanceof IOException) {
        throw new TransientFailure("I/O error fetching " + uri + ": " + cause, false, cause);
      }
      throw new RejectedImageException(
          RejectedImageException.FETCH_FAILED, "failed fetching " + uri + ": " + cause, cause);
    }
  }

  private BodySubscriber<byte[]> bodyHandler(ResponseInfo info) {
    if (info.statusCode() < 200 || info.statusCode() >= 300) {
      return BodySubscribers.replacing(null);
    }
    long declared = info.headers().firstValueAsLong("Content-Length").orElse(-1);
    return new LimitedBody(options.maxBytes(), declared);
  }

  private byte[] readFile(URI uri) throws RejectedImageException {
    Path path;
    try {
      path = Path.of(uri);
    } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
      throw new RejectedImageException(
          RejectedImageException.FETCH_FAILED, "invalid file URL: " + uri, e);
    }
    try (InputStream in = Files.newInputStream(path)) {
      byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, options.maxBytes() + 1));
      if (bytes.length > options.maxBytes()) {
        throw new RejectedImageException(
            RejectedImageException.TOO_LARGE,
            "file is larger than " + options.maxBytes() + " bytes: " + uri);
      }
      return bytes;
    } catch (NoSuchFileException e) {
      throw new RejectedImageException(
          RejectedImageException.NOT_FOUND, "no such file: " + path, e);
    } catch (IOException e) {
      throw new RejectedImageException(
          RejectedImageException.FETCH_FAILED, "cannot read " + path + ": " + e, e);
    }
  }

  private static void sleep(long millis) throws RejectedImageException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RejectedImageException(
          RejectedImageException.FETCH_FAILED, "interrupted while backing off", e);
    }
  }

  private static final class TooLarge extends IOException {
    TooLarge(String message) {
      super(message);
    }
  }

  /** Collects the body, cancelling the download as soon as it passes the byte limit. */
  private static final class LimitedBody implements BodySubscriber<byte[]> {
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final long maxBytes;
    private final long declared;
    private Flow.Subscription subscription;

    LimitedBody(long maxBytes, long declared) {
      this.maxBytes = maxBytes;
      this.declared = declared;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      if (declared > maxBytes) {
        subscription.cancel();
        result.completeExceptionally(
            new TooLarge("Content-Length " + declared + " is larger than " + maxBytes + " bytes"));
        return;
      }
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
      if (result.isDone()) {
        return;
      }
      for (ByteBuffer buffer : buffers) {
        if (out.size() + (long) buffer.remaining() > maxBytes) {
          subscription.cancel();
          result.completeExceptionally(new TooLarge("body is larger than " + maxBytes + " bytes"));
          return;
        }
        byte[] chunk = new byte[buffer.remaining()];
        buffer.get(chunk);
        out.write(chunk, 0, chunk.length);
      }
    }

    @Override
    public void onError(Throwable throwable) {
      result.completeExceptionally(throwable);
    }

    @Override
    public void onComplete() {
      result.complete(out.toByteArray());
    }
  }
}
