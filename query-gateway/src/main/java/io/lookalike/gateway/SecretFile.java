package io.lookalike.gateway;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * A generated secret kept in a file only its owner can read (the local mode's admin and webhook
 * secrets).
 */
public final class SecretFile {

  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");

  private SecretFile() {}

  /** The secret in {@code file}; on first use, 24 random bytes in hex, written owner-only. */
  public static String readOrCreate(Path file) throws IOException {
    if (!Files.exists(file)) {
      byte[] random = new byte[24];
      new SecureRandom().nextBytes(random);
      try {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path created =
            posix(file)
                ? Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY))
                : Files.createFile(file);
        Files.writeString(created, HexFormat.of().formatHex(random) + "\n", StandardCharsets.UTF_8);
      } catch (FileAlreadyExistsException raced) {
        // another caller made it first: read theirs
      }
    } else if (posix(file)) {
      // Written by an older version with the default umask: tighten it.
      Files.setPosixFilePermissions(file, OWNER_ONLY);
    }
    String secret = Files.readString(file, StandardCharsets.UTF_8).strip();
    if (secret.isEmpty()) {
      throw new IOException(
          "The secret file " + file + " is empty: delete it to generate a new secret");
    }
    return secret;
  }

  /** The secret in {@code file}, which must exist (for clients such as the CLI). */
  public static String read(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8).strip();
  }

  private static boolean posix(Path file) {
    Path dir = file.toAbsolutePath().getParent();
    return Files.getFileAttributeView(dir, java.nio.file.attribute.PosixFileAttributeView.class)
        != null;
  }
}
