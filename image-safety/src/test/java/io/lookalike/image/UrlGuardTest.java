package io.lookalike.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The SSRF guard's decisions, through an injected resolver only: nothing here opens a socket or
 * sends a DNS query, so a bug in the guard cannot turn into traffic to the addresses tested.
 */
class UrlGuardTest {

  /**
   * Names of the test world; IP literals are parsed (never looked up); anything else is unknown.
   */
  private static final Map<String, String[]> DNS =
      Map.of(
          "images.example.com", new String[] {"93.184.216.34"},
          "cdn.example.com", new String[] {"2606:2800:220:1:248:1893:25c8:1946"},
          "rebind.example.com", new String[] {"169.254.169.254"},
          "internal.example.com", new String[] {"10.0.0.1"},
          "mixed.example.com", new String[] {"93.184.216.34", "192.168.1.1"},
          "v6private.example.com", new String[] {"fd00::1"},
          "mapped.example.com", new String[] {"::ffff:10.0.0.1"},
          "intranet.corp", new String[] {"10.20.30.40"});

  private final List<String> lookedUp = new ArrayList<>();

  private UrlGuard.Resolver resolver() {
    return host -> {
      lookedUp.add(host);
      String[] answer = DNS.get(host);
      if (answer == null) {
        if (!host.matches("[0-9.]+") && !host.contains(":")) {
          throw new UnknownHostException(host);
        }
        answer = new String[] {host};
      }
      InetAddress[] out = new InetAddress[answer.length];
      for (int i = 0; i < answer.length; i++) {
        out[i] = InetAddress.getByName(answer[i]); // literals only: parsed, not looked up
      }
      return out;
    };
  }

  private UrlGuard guard(String... allowList) {
    return new UrlGuard(false, true, List.of(allowList), resolver());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "169.254.169.254",
        "10.0.0.1",
        "192.168.1.1",
        "172.16.5.4",
        "172.31.255.255",
        "100.64.0.1",
        "100.100.100.200",
        "127.0.0.1",
        "127.8.9.10",
        "0.0.0.0",
        "0.1.2.3",
        "255.255.255.255",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "192.0.0.192",
        "198.18.0.1",
        "::1",
        "::",
        "fd00::1",
        "fc00::1",
        "fd00:ec2::254",
        "fe80::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::10.0.0.1",
        "64:ff9b::a00:1",
        "2002:a00:1::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2"
      })
  void shouldBlockNonPublicAddress(String address) {
    assertThat(guard().blockedReason(address)).as(address).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "rebind.example.com",
        "internal.example.com",
        "mixed.example.com",
        "v6private.example.com",
        "mapped.example.com",
        "INTERNAL.example.com."
      })
  void shouldBlockNameResolvingToNonPublicAddress(String host) {
    assertThat(guard().blockedReason(host)).as(host).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "metadata.google.internal",
        "metadata",
        "instance-data.ec2.internal",
        "localhost",
        "foo.localhost"
      })
  void shouldBlockMetadataAndLocalNamesWithoutResolvingThem(String host) {
    assertThat(guard().blockedReason(host)).isNotNull();
    assertThat(lookedUp).isEmpty();
  }

  @Test
  void shouldBlockUnresolvableHost() {
    assertThat(guard().blockedReason("nowhere.invalid")).contains("cannot resolve");
  }

  @Test
  void shouldRejectUnresolvableHostAsDnsFailureNotAsSsrf() {
    assertThatThrownBy(() -> guard().check(URI.create("https://nowhere.invalid/a.jpg")))
        .isInstanceOfSatisfying(
            RejectedImageException.class,
            e -> {
              assertThat(e.reasonCode()).isEqualTo(RejectedImageException.DNS_FAILURE);
              assertThat(e.getMessage()).contains("cannot resolve nowhere.invalid");
            });
  }

  @Test
  void shouldAllowPublicAddresses() {
    assertThat(guard().blockedReason("images.example.com")).isNull();
    assertThat(guard().blockedReason("cdn.example.com")).isNull();
    assertThat(guard().blockedReason("8.8.8.8")).isNull();
    assertThat(guard().blockedReason("[2606:4700::1111]")).isNull();
    assertThat(guard().blockedReason("172.32.0.1")).isNull(); // just outside 172.16/12
    assertThat(guard().blockedReason("100.128.0.1")).isNull(); // just outside 100.64/10
  }

  @Test
  void shouldLetAllowListOverrideByNameAddressOrRange() {
    assertThat(guard("intranet.corp").blockedReason("intranet.corp")).isNull();
    assertThat(guard("10.20.0.0/16").blockedReason("intranet.corp")).isNull();
    assertThat(guard("10.20.30.40").blockedReason("10.20.30.40")).isNull();
    assertThat(guard("10.20.0.0/16").blockedReason("10.0.0.1")).isNotNull();
    assertThat(guard("127.0.0.1").blockedReason("127.0.0.2")).isNotNull();
    assertThat(guard("::1").blockedReason("[::1]")).isNull();
  }

  @Test
  void shouldRefuseUrlsWithReasonCode() {
    assertReason(
        guard(), "http://169.254.169.254/latest/meta-data/", RejectedImageException.SSRF_BLOCKED);
    assertReason(guard(), "https://[fd00::1]/a.jpg", RejectedImageException.SSRF_BLOCKED);
    assertReason(guard(), "http://[::ffff:10.0.0.1]/a.jpg", RejectedImageException.SSRF_BLOCKED);
    assertReason(
        guard(), "http://rebind.example.com:8080/a.jpg", RejectedImageException.SSRF_BLOCKED);
    assertReason(
        guard(), "ftp://images.example.com/a.jpg", RejectedImageException.SCHEME_NOT_ALLOWED);
    assertReason(
        guard(), "gopher://images.example.com/", RejectedImageException.SCHEME_NOT_ALLOWED);
    assertReason(guard(), "file:///etc/passwd", RejectedImageException.SCHEME_NOT_ALLOWED);
    assertReason(guard(), "http:///a.jpg", RejectedImageException.FETCH_FAILED);
  }

  @Test
  void shouldPassPublicUrlsAndFileUrlsOnlyWhenAllowed() throws Exception {
    guard().check(URI.create("https://images.example.com/a.jpg"));
    new UrlGuard(true, true, List.of(), resolver()).check(URI.create("file:///data/a.jpg"));
  }

  @Test
  void shouldCheckOnlySchemeWhenGuardIsOff() throws Exception {
    UrlGuard off = new UrlGuard(false, false, List.of(), resolver());
    off.check(URI.create("http://10.0.0.1/a.jpg"));
    assertReason(off, "ftp://10.0.0.1/a.jpg", RejectedImageException.SCHEME_NOT_ALLOWED);
    assertThat(lookedUp).isEmpty();
  }

  @Test
  void shouldRejectMalformedRange() {
    assertThatThrownBy(() -> UrlGuard.Cidr.parse("10.0.0.0/33"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> UrlGuard.Cidr.parse("intranet/8"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static void assertReason(UrlGuard guard, String url, String reason) {
    assertThatThrownBy(() -> guard.check(URI.create(url)))
        .as(url)
        .isInstanceOfSatisfying(
            RejectedImageException.class, e -> assertThat(e.reasonCode()).isEqualTo(reason));
  }
}
