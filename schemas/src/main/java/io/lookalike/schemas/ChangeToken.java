package io.lookalike.schemas;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A read-your-writes token: the product versions a write (a webhook request, a loaded file) put
 * into the catalog. {@code GET /v1/status?token=} says how far they are, and a search with {@code
 * consistentWith=<token>} waits until they are searchable. Opaque to clients: {@code ct1.} and the
 * URL-safe base64 of one {@code U|D <version> <productId>} line per product.
 */
public record ChangeToken(List<Change> changes) {

  /** One product version; {@code delete}: the product is gone at that version. */
  public record Change(String productId, long version, boolean delete) {}

  private static final String PREFIX = "ct1.";

  public ChangeToken {
    changes = List.copyOf(changes);
    if (changes.isEmpty()) {
      throw new IllegalArgumentException("a token names at least one product version");
    }
  }

  /** The token's text form. */
  public String encode() {
    StringBuilder lines = new StringBuilder();
    for (Change c : changes) {
      lines.append(c.delete() ? 'D' : 'U').append(' ').append(c.version()).append(' ');
      lines.append(c.productId()).append('\n');
    }
    return PREFIX
        + Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString(lines.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** Reads a token; fails with a message for people when it is not one. */
  public static ChangeToken decode(String token) {
    if (token == null || !token.startsWith(PREFIX)) {
      throw new IllegalArgumentException("not a change token (they start with " + PREFIX + ")");
    }
    String text;
    try {
      text =
          new String(
              Base64.getUrlDecoder().decode(token.substring(PREFIX.length())),
              StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a change token: " + e.getMessage());
    }
    List<Change> changes = new ArrayList<>();
    for (String line : text.split("\n")) {
      String[] parts = line.split(" ", 3);
      if (parts.length != 3 || !(parts[0].equals("U") || parts[0].equals("D"))) {
        throw new IllegalArgumentException("not a change token: bad entry '" + line + "'");
      }
      try {
        changes.add(new Change(parts[2], Long.parseLong(parts[1]), parts[0].equals("D")));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not a change token: bad version in '" + line + "'");
      }
    }
    return new ChangeToken(changes);
  }
}
