package io.lookalike.ingest;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

/**
 * Asks the brokers for their cluster id before a command starts producing, so that an unreachable
 * broker is one clear line within seconds instead of a minute-long wait (and a WARN) per record.
 */
public final class KafkaReachability {

  /**
   * The default wait: long enough for a broker that is starting, short enough for a person at a
   * prompt.
   */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  private KafkaReachability() {}

  /** Thrown when the brokers do not answer in time; the message is one line meant for the user. */
  public static final class UnreachableException extends Exception {
    UnreachableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Returns the cluster id, or throws with a message naming the servers and what to do.
   *
   * @param hint what the user probably wants to check (e.g. "is `./lookalike local` running?")
   */
  public static String check(String bootstrapServers, Duration timeout, String hint)
      throws UnreachableException {
    int ms = (int) timeout.toMillis();
    try (Admin admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms,
                // One attempt per address, not the client's default reconnect storm in the log.
                AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000))) {
      return admin
          .describeCluster(new DescribeClusterOptions().timeoutMs(ms))
          .clusterId()
          .get(ms + 1000L, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      throw new UnreachableException(
          "Cannot reach Kafka at "
              + bootstrapServers
              + " within "
              + timeout.toSeconds()
              + " s ("
              + cause.getClass().getSimpleName()
              + ")"
              + (hint == null ? "" : "; " + hint),
          cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UnreachableException("Interrupted while reaching Kafka at " + bootstrapServers, e);
    } catch (org.apache.kafka.common.KafkaException e) {
      // e.g. an unparsable bootstrap.servers
      throw new UnreachableException(
          "Cannot use bootstrap servers '" + bootstrapServers + "': " + e.getMessage(), e);
    }
  }
}
