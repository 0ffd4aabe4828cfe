package io.lookalike.image;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.kafka.common.config.AbstractConfig;

/**
 * Decides whether the fetcher may request a URL (SSRF guard): only http and https ({@code file:}
 * when allowed), and never a host that resolves to a loopback, private, CGNAT, link-local (cloud
 * metadata), multicast, unspecified, reserved or unique-local address, in IPv4 or IPv6 (including
 * IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms), nor a cloud metadata host name. Entries of
 * the allow-list (host names, IP addresses or CIDR ranges) override the address rules.
 *
 * <p>Residual risk, DNS rebinding: the JDK {@code HttpClient} (Java 17) resolves the host again
 * when it connects and offers no hook to pin the address checked here. The JVM's positive DNS cache
 * ({@code networkaddress.cache.ttl}, 30 s by default) normally hands it the same answer, but a name
 * whose TTL runs out between the check and the connect could point elsewhere. Deployments that need
 * a hard guarantee should also route the fetcher through an egress proxy that enforces these rules.
 */
public final class UrlGuard {

  /**
   * Resolves a host name (or IP literal) to its addresses; {@link InetAddress#getAllByName} in
   * production.
   */
  @FunctionalInterface
  public interface Resolver {
    InetAddress[] resolve(String host) throws UnknownHostException;
  }

  public static final Resolver SYSTEM_RESOLVER = InetAddress::getAllByName;
  private static final String CANNOT_RESOLVE = "cannot resolve ";
  private static final String NO_ADDRESS = "no address for ";

  /**
   * Names of cloud metadata services (AWS, GCP, Azure, Alibaba, OpenStack...), refused whatever
   * they resolve to.
   */
  static final Set<String> METADATA_HOSTS =
      Set.of(
          "metadata",
          "metadata.google.internal",
          "metadata.goog",
          "instance-data",
          "instance-data.ec2.internal",
          "metadata.azure.internal",
          "metadata.tencentyun.com",
          "metadata.packet.net");

  /** Ranges refused beyond what {@link InetAddress}'s own predicates cover. */
  private static final List<Cidr> BLOCKED =
      List.of(
          Cidr.parse("0.0.0.0/8"),
          Cidr.parse("10.0.0.0/8"),
          Cidr.parse("100.64.0.0/10"),
          Cidr.parse("127.0.0.0/8"),
          Cidr.parse("169.254.0.0/16"),
          Cidr.parse("172.16.0.0/12"),
          Cidr.parse("192.0.0.0/24"),
          Cidr.parse("192.0.2.0/24"),
          Cidr.parse("192.168.0.0/16"),
          Cidr.parse("198.18.0.0/15"),
          Cidr.parse("198.51.100.0/24"),
          Cidr.parse("203.0.113.0/24"),
          Cidr.parse("224.0.0.0/4"),
          Cidr.parse("240.0.0.0/4"),
          Cidr.parse("::/128"),
          Cidr.parse("::1/128"),
          Cidr.parse("fe80::/10"),
          Cidr.parse("fec0::/10"),
          Cidr.parse("fc00::/7"),
          Cidr.parse("ff00::/8"),
          Cidr.parse("100::/64"),
          Cidr.parse("2001:db8::/32"),
          Cidr.parse("2001::/32")); // Teredo: the IPv4 inside is obfuscated, refuse the whole range

  private final boolean allowFile;
  private final boolean enabled;
  private final Set<String> allowedHosts;
  private final List<Cidr> allowedRanges;
  private final Resolver resolver;

  /**
   * @param allowFile whether {@code file:} URLs pass (the local mode)
   * @param enabled whether addresses are checked at all; when false only the scheme is
   * @param allowList host names, IP addresses or CIDR ranges let through although private
   * @param resolver how host names become addresses
   */
  public UrlGuard(boolean allowFile, boolean enabled, List<String> allowList, Resolver resolver) {
    this.allowFile = allowFile;
    this.enabled = enabled;
    this.resolver = resolver;
    List<String> hosts = new ArrayList<>();
    List<Cidr> ranges = new ArrayList<>();
    for (String entry : allowList) {
      String e = entry.strip().toLowerCase(Locale.ROOT);
      if (e.isEmpty()) {
        continue;
      }
      if (e.contains("/") || isIpLiteral(e)) {
        ranges.add(Cidr.parse(e));
      } else {
        hosts.add(stripDot(e));
      }
    }
    this.allowedHosts = Set.copyOf(hosts);
    this.allowedRanges = List.copyOf(ranges);
  }

  public static UrlGuard from(AbstractConfig config) {
    return new UrlGuard(
        config.getBoolean(ImageSafetyConfig.FETCH_ALLOW_FILE_CONFIG),
        config.getBoolean(ImageSafetyConfig.FETCH_SSRF_GUARD_CONFIG),
        config.getList(ImageSafetyConfig.FETCH_ALLOWED_HOSTS_CONFIG),
        SYSTEM_RESOLVER);
  }

  /**
   * Refuses {@code uri} with a {@link RejectedImageException} (scheme_not_allowed, ssrf_blocked or
   * fetch_failed).
   */
  public void check(URI uri) throws RejectedImageException {
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (scheme.equals("file")) {
      if (!allowFile) {
        throw new RejectedImageException(
            RejectedImageException.SCHEME_NOT_ALLOWED, "file: URLs are not allowed: " + uri);
      }
      return;
    }
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new RejectedImageException(
          RejectedImageException.SCHEME_NOT_ALLOWED,
          "URL scheme '" + scheme + "' is not allowed: " + uri);
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw new RejectedImageException(
          RejectedImageException.FETCH_FAILED, "URL has no host: " + uri);
    }
    if (!enabled) {
      return;
    }
    String reason = blockedReason(host);
    if (reason != null) {
      // A name that does not resolve is not an attack: say so, so that operators look at DNS, not
      // the guard.
      boolean dns = reason.startsWith(CANNOT_RESOLVE) || reason.startsWith(NO_ADDRESS);
      throw new RejectedImageException(
          dns ? RejectedImageException.DNS_FAILURE : RejectedImageException.SSRF_BLOCKED,
          (dns ? "" : "refused ") + uri + ": " + reason);
    }
  }

  /**
   * The guard's decision for one host (name or literal, IPv6 with or without brackets): null when
   * it may be fetched, else why not. Resolves names through the resolver; never opens a connection.
   */
  public String blockedReason(String host) {
    String name = stripDot(host.toLowerCase(Locale.ROOT));
    if (name.startsWith("[") && name.endsWith("]")) {
      name = name.substring(1, name.length() - 1);
    }
    if (allowedHosts.contains(name)) {
      return null;
    }
    if (METADATA_HOSTS.contains(name)) {
      return "cloud metadata host " + name;
    }
    if (name.equals("localhost") || name.endsWith(".localhost")) {
      return "loopback host " + name;
    }
    InetAddress[] addresses;
    try {
      addresses = resolver.resolve(name);
    } catch (UnknownHostException | RuntimeException e) {
      return CANNOT_RESOLVE + name + ": " + e.getMessage();
    }
    if (addresses == null || addresses.length == 0) {
      return NO_ADDRESS + name;
    }
    // Every address must pass: the client may connect to any of them.
    for (InetAddress address : addresses) {
      if (allowedRanges.stream().anyMatch(r -> r.contains(address))) {
        continue;
      }
      String why = blockedAddress(address);
      if (why != null) {
        return name + " resolves to " + address.getHostAddress() + ", " + why;
      }
    }
    return null;
  }

  /**
   * Why an address is not public (null when it is), looking inside IPv6 forms that carry an IPv4
   * address.
   */
  static String blockedAddress(InetAddress address) {
    if (address.isAnyLocalAddress()) {
      return "an unspecified address";
    }
    if (address.isLoopbackAddress()) {
      return "a loopback address";
    }
    if (address.isLinkLocalAddress()) {
      return "a link-local address (cloud metadata lives there)";
    }
    if (address.isSiteLocalAddress()) {
      return "a private address";
    }
    if (address.isMulticastAddress()) {
      return "a multicast address";
    }
    byte[] b = address.getAddress();
    if (address instanceof Inet4Address && Arrays.equals(b, new byte[] {-1, -1, -1, -1})) {
      return "the broadcast address";
    }
    if (address instanceof Inet6Address) {
      byte[] embedded = embeddedIpv4(b);
      if (embedded != null) {
        try {
          String why = blockedAddress(InetAddress.getByAddress(embedded));
          return why == null
              ? null
              : "an IPv6 form of "
                  + InetAddress.getByAddress(embedded).getHostAddress()
                  + ", "
                  + why;
        } catch (UnknownHostException e) {
          return "an unreadable IPv6 address";
        }
      }
    }
    for (Cidr range : BLOCKED) {
      if (range.contains(address)) {
        return "in the reserved range " + range;
      }
    }
    return null;
  }

  /**
   * The IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) or 6to4 address,
   * else null.
   */
  private static byte[] embeddedIpv4(byte[] b) {
    boolean firstTenZero = true;
    for (int i = 0; i < 10; i++) {
      firstTenZero &= b[i] == 0;
    }
    boolean mapped = firstTenZero && b[10] == -1 && b[11] == -1;
    boolean compatible =
        firstTenZero
            && b[10] == 0
            && b[11] == 0
            && !(b[12] == 0
                && b[13] == 0
                && b[14] == 0
                && (b[15] == 0 || b[15] == 1)); // not :: or ::1
    boolean nat64 =
        b[0] == 0
            && b[1] == 0x64
            && b[2] == (byte) 0xff
            && b[3] == (byte) 0x9b
            && Arrays.equals(Arrays.copyOfRange(b, 4, 12), new byte[8]);
    if (mapped || compatible || nat64) {
      return Arrays.copyOfRange(b, 12, 16);
    }
    if (b[0] == 0x20 && b[1] == 0x02) { // 6to4: 2002:AABB:CCDD::/48
      return Arrays.copyOfRange(b, 2, 6);
    }
    return null;
  }

  private static boolean isIpLiteral(String s) {
    return s.matches("[0-9.]+") || s.contains(":");
  }

  private static String stripDot(String host) {
    return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
  }

  /** An address range; a plain address is a range of one. */
  record Cidr(byte[] network, int prefix, String text) {

    static Cidr parse(String text) {
      String[] parts = text.strip().split("/", 2);
      String literal =
          parts[0].startsWith("[") ? parts[0].substring(1, parts[0].length() - 1) : parts[0];
      if (!isIpLiteral(literal)) {
        throw new IllegalArgumentException("not an IP address or CIDR range: " + text);
      }
      byte[] network;
      try {
        network = InetAddress.getByName(literal).getAddress(); // a literal: parsed, never looked up
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("not an IP address or CIDR range: " + text, e);
      }
      int prefix = network.length * 8;
      if (parts.length == 2) {
        try {
          prefix = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("bad prefix length in " + text, e);
        }
        if (prefix < 0 || prefix > network.length * 8) {
          throw new IllegalArgumentException("bad prefix length in " + text);
        }
      }
      return new Cidr(network, prefix, text.strip());
    }

    boolean contains(InetAddress address) {
      byte[] a = address.getAddress();
      if (a.length != network.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (a[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (a[full] & mask) == (network[full] & mask);
    }

    @Override
    public String toString() {
      return text;
    }
  }
}
