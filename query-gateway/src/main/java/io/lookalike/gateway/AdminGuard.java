package io.lookalike.gateway;

import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Collection;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The rules every admin call passes before it runs, so that no web page can drive the admin API
 * even from a browser on the gateway's own machine: a bearer secret ({@code Authorization: Bearer
 * <secret>}, compared in constant time; 401), a {@code Host} header naming this server (DNS
 * rebinding; 421), no cross-origin {@code Origin} or {@code Sec-Fetch-Site} (a page's form or
 * fetch; 403), and {@code Content-Type: application/json} on every call that changes something (a
 * page can send {@code text/plain} or a form without a preflight, never JSON; 415). Errors never
 * echo what was sent.
 */
public final class AdminGuard {

  /** Host names a loopback client may use. */
  private static final Set<String> LOOPBACK_NAMES =
      Set.of("localhost", "127.0.0.1", "::1", "[::1]");

  private final byte[] secret;
  private final Set<String> allowedHosts;

  /**
   * @param secret the bearer secret callers must send (not empty)
   * @param allowedHosts host names (no port) that callers may put in {@code Host}, besides the
   *     loopback ones
   */
  public AdminGuard(String secret, Collection<String> allowedHosts) {
    if (secret == null || secret.isBlank()) {
      throw new IllegalArgumentException("the admin secret must not be empty");
    }
    this.secret = secret.strip().getBytes(StandardCharsets.UTF_8);
    Set<String> hosts = new TreeSet<>(LOOPBACK_NAMES);
    for (String host : allowedHosts) {
      String h = host.strip().toLowerCase(Locale.ROOT);
      // A wildcard bind address is no name a client uses.
      if (!h.isEmpty() && !h.equals("0.0.0.0") && !h.equals("::") && !h.equals("[::]")) {
        hosts.add(h);
      }
    }
    this.allowedHosts = Set.copyOf(hosts);
  }

  /** The host names accepted in {@code Host}. */
  public Set<String> allowedHosts() {
    return allowedHosts;
  }

  /**
   * A Javalin before-handler: throws a {@link SearchException} (answered as JSON) when a rule is
   * broken.
   */
  public void check(Context ctx) {
    String host = hostName(ctx.header("Host"));
    if (host == null || !allowedHosts.contains(host)) {
      throw new SearchException(
          ErrorCode.MISDIRECTED,
          "this server does not answer admin calls for that Host; "
              + "add the name to "
              + GatewayConfig.ALLOWED_HOSTS_CONFIG);
    }
    String origin = ctx.header("Origin");
    if (origin != null && !sameOrigin(origin, host)) {
      throw new SearchException(
          ErrorCode.CROSS_ORIGIN, "admin calls from web pages of other origins are refused");
    }
    String site = ctx.header("Sec-Fetch-Site");
    if (site != null && site.equalsIgnoreCase("cross-site")) {
      throw new SearchException(
          ErrorCode.CROSS_ORIGIN, "admin calls from web pages of other sites are refused");
    }
    if (!authorised(ctx.header("Authorization"))) {
      ctx.header("WWW-Authenticate", "Bearer");
      throw new SearchException(
          ErrorCode.UNAUTHORIZED,
          "admin calls need 'Authorization: Bearer <secret>' "
              + "(the local mode keeps it in <data-dir>/admin.secret)");
    }
    HandlerType method = ctx.method();
    if (method != HandlerType.GET
        && method != HandlerType.HEAD
        && method != HandlerType.OPTIONS
        && !isJson(ctx.contentType())) {
      throw new SearchException(
          ErrorCode.UNSUPPORTED_TYPE,
          "admin calls that change something take " + "Content-Type: application/json");
    }
  }

  private boolean authorised(String header) {
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    byte[] given = header.substring(7).strip().getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(given, secret);
  }

  /** {@code application/json}, with or without parameters. */
  public static boolean isJson(String contentType) {
    if (contentType == null) {
      return false;
    }
    int semicolon = contentType.indexOf(';');
    String type = (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).strip();
    return type.equalsIgnoreCase("application/json");
  }

  private boolean sameOrigin(String origin, String host) {
    try {
      URI uri = URI.create(origin.strip());
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      String originHost = uri.getHost() == null ? null : uri.getHost().toLowerCase(Locale.ROOT);
      return (scheme.equals("http") || scheme.equals("https")) && host.equals(originHost);
    } catch (IllegalArgumentException e) {
      return false; // "null" (sandboxed frames, file: pages) or garbage
    }
  }

  /**
   * The name part of a {@code Host} header, lowercase, without the port; null when absent or
   * malformed.
   */
  static String hostName(String header) {
    if (header == null || header.isBlank()) {
      return null;
    }
    String h = header.strip().toLowerCase(Locale.ROOT);
    if (h.startsWith("[")) {
      int end = h.indexOf(']');
      return end < 0 ? null : h.substring(0, end + 1);
    }
    int colon = h.indexOf(':');
    if (colon >= 0 && h.indexOf(':', colon + 1) >= 0) {
      return h; // a bare IPv6 address
    }
    return colon < 0 ? h : h.substring(0, colon);
  }
}
