package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * After {@code kill -9}, the local mode restarted on the same data directory takes over its own
 * place: each consumer group holds the live instance alone, as the same static member, no
 * transaction of the dead instance is left open, and a change made after the restart becomes
 * searchable. Outcomes only; RestartBench times them.
 */
class RestartIT {

  private static final int PRODUCTS = 30;
  private static final Duration BOUND = Duration.ofMinutes(5);

  @TempDir Path tmp;

  @Test
  void shouldTakeOverItsOwnGroupsAndTransactionsWhenRestartedOnItsDataDirAfterKill9()
      throws Exception {
    try (LocalRestart local = new LocalRestart(tmp, List.of(), 5)) {
      // Given a local mode that has indexed a small catalog
      local.start();
      await("the gateway answers").atMost(BOUND).until(() -> local.health() > 0);
      for (int i = 0; i < PRODUCTS; i++) {
        local.publish("p-" + i, i);
      }
      local.flush();
      await("the catalog is indexed")
          .atMost(BOUND)
          .pollInterval(Duration.ofMillis(500))
          .until(() -> local.searchable("p-" + (PRODUCTS - 1)) && local.lag() == 0);
      List<String> staticIds = instanceIds(local);
      assertThat(staticIds).as("every group member is a static member").doesNotContainNull();

      // When it is killed -9 while changes are in flight, and started again on the same directory
      for (int i = 0; i < 5; i++) {
        local.publish("in-flight-" + i, i);
      }
      local.flush();
      local.kill();
      Instant restart = Instant.now();
      local.start();
      await("the broker is back").atMost(BOUND).until(local::brokerUp);
      local.publish("after-restart", 1);
      local.flush();

      // Then each group holds the restarted instance alone, under the same static ids: no member is
      // left for the group to wait on
      await("the restarted instance holds every group")
          .atMost(BOUND)
          .pollInterval(Duration.ofMillis(500))
          .until(() -> local.groupsTakenOver(2));
      assertThat(instanceIds(local)).isEqualTo(staticIds);
      // And no transaction begun before the kill is still open
      await("the dead instance's transactions are closed")
          .atMost(BOUND)
          .pollInterval(Duration.ofMillis(500))
          .untilAsserted(() -> assertThat(local.openTransactionsBegunBefore(restart)).isEmpty());
      // And the change made after the restart, and those in flight at the kill, are searchable
      await("the new change is searchable")
          .atMost(BOUND)
          .pollInterval(Duration.ofMillis(500))
          .until(() -> local.searchable("after-restart"));
      for (int i = 0; i < 5; i++) {
        String id = "in-flight-" + i;
        await(id + " is searchable").atMost(BOUND).until(() -> local.searchable(id));
      }
      assertThat(local.alive()).as("the local mode still runs:\n" + local.tail()).isTrue();
    }
  }

  /** Each pipeline group's member's group.instance.id, by group. */
  private static List<String> instanceIds(LocalRestart local) throws Exception {
    return local.groups().values().stream()
        .map(ConsumerGroupDescription::members)
        .flatMap(members -> members.stream().map(MemberDescription::groupInstanceId))
        .map(id -> id.orElse(null))
        .toList();
  }
}
