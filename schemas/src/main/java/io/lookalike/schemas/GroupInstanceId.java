package io.lookalike.schemas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HexFormat;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;

/**
 * A consumer's {@code group.instance.id} (static group membership, KIP-345) that stays the same for
 * as long as a directory does: made once into {@code <dir>/group-instance.id}, read back on every
 * start. An instance restarted on its directory after {@code kill -9} then takes over its dead
 * self's place in each consumer group at once, instead of the group waiting {@code
 * session.timeout.ms} for the dead member; one owner per directory ({@link DataDirLock}) keeps the
 * id unique.
 *
 * <p>Only the classic group protocol benefits: with {@code group.protocol=consumer} (KIP-848) a
 * static member that did not leave is refused ({@code UNRELEASED_INSTANCE_ID}) until its session
 * times out, and Kafka Streams' {@code group.protocol=streams} (KIP-1071) refuses static members.
 */
public final class GroupInstanceId {

  public static final String FILE_NAME = "group-instance.id";
  private static final Pattern VALID = Pattern.compile("[a-zA-Z0-9._-]{1,200}");

  private GroupInstanceId() {}

  /**
   * The id kept in {@code dir}, made ({@code lookalike-} and 12 random hex digits) when there is
   * none; the directory is created if needed.
   *
   * @throws IllegalStateException when the file holds something that is not an id
   */
  public static String of(Path dir) {
    Path file = dir.resolve(FILE_NAME);
    try {
      if (!Files.exists(file)) {
        Files.createDirectories(dir);
        byte[] random = new byte[6];
        new java.security.SecureRandom().nextBytes(random);
        String id = "lookalike-" + HexFormat.of().formatHex(random);
        Path tmp = Files.createTempFile(dir, FILE_NAME, ".tmp");
        Files.writeString(tmp, id + "\n");
        try {
          // A link fails when the file exists (a rename would replace it): a second app of this
          // JVM making one at the same moment keeps the first one's id.
          Files.createLink(file, tmp);
        } catch (FileAlreadyExistsException e) {
          // made meanwhile: read it below
        } catch (UnsupportedOperationException | java.nio.file.FileSystemException e) {
          Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE); // no hard links on this one
        } finally {
          Files.deleteIfExists(tmp);
        }
      }
      String id = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (!VALID.matcher(id).matches()) {
        throw new IllegalStateException(
            file
                + " holds no group instance id ("
                + id.length()
                + " characters): delete it to make a new one");
      }
      return id;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read or write " + file, e);
    }
  }

  /**
   * Whether a consumer with {@code config} should be a static member: not when {@code
   * group.instance.id} is given (it is used as it is) or given empty (static membership off), nor
   * under a group protocol other than the classic one.
   */
  public static boolean wanted(Map<?, ?> config, String... instanceIdKeys) {
    for (String key : instanceIdKeys) {
      if (config.containsKey(key)) {
        return false;
      }
    }
    Object protocol = config.get(ConsumerConfig.GROUP_PROTOCOL_CONFIG);
    return protocol == null || "classic".equalsIgnoreCase(protocol.toString().strip());
  }

  /**
   * Removes {@code group.instance.id} keys set to an empty value (the way to turn static membership
   * off: Kafka refuses an empty id).
   */
  public static void dropEmpty(Map<?, ?> config, String... instanceIdKeys) {
    for (String key : instanceIdKeys) {
      Object value = config.get(key);
      if (value != null && value.toString().isBlank()) {
        config.remove(key);
      }
    }
  }
}
