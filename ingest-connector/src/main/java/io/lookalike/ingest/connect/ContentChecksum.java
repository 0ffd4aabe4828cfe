package io.lookalike.ingest.connect;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A running SHA-256 of a feed file from its first byte, advanced a whole line at a time, so that a
 * source offset can say exactly which content was read and a file whose read part changed in any
 * way (same length or not) is noticed and read again.
 */
final class ContentChecksum {

  private MessageDigest lines;
  private MessageDigest partial;

  private ContentChecksum(MessageDigest lines) {
    this.lines = lines;
    this.partial = copy(lines);
  }

  /** The checksum of no bytes at all. */
  static ContentChecksum empty() {
    try {
      return new ContentChecksum(MessageDigest.getInstance("SHA-256"));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /**
   * The checksum (hex) of the first {@code length} bytes of {@code channel}, or null when it is
   * shorter.
   */
  static String of(FileChannel channel, long length) throws IOException {
    if (channel.size() < length) {
      return null;
    }
    ContentChecksum checksum = empty();
    InputStream in =
        new BufferedInputStream(Channels.newInputStream(channel.position(0)), 64 * 1024);
    byte[] buffer = new byte[64 * 1024];
    long left = length;
    while (left > 0) {
      int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
      if (n < 0) {
        return null;
      }
      checksum.partial.update(buffer, 0, n);
      left -= n;
    }
    return checksum.endLine();
  }

  /** One more byte of the line being read. */
  void update(int b) {
    partial.update((byte) b);
  }

  /** The line being read is complete: returns the checksum (hex) of everything up to its end. */
  String endLine() {
    lines = copy(partial);
    return HexFormat.of().formatHex(copy(partial).digest());
  }

  /** Forgets the bytes of an incomplete last line, which will be read again. */
  void dropPartial() {
    partial = copy(lines);
  }

  private static MessageDigest copy(MessageDigest digest) {
    try {
      return (MessageDigest) digest.clone();
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException("the JDK's SHA-256 can be cloned", e);
    }
  }
}
