package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The launchers' resource stack: newest closed first, a failure does not stop the rest. */
class ResourcesTest {

  @Test
  void shouldCloseInReverseOrderAndGoOnPastAFailure() {
    List<String> closed = new ArrayList<>();
    Resources resources = new Resources(LoggerFactory.getLogger(ResourcesTest.class));
    resources.remember(() -> closed.add("broker"));
    resources.remember(
        () -> {
          closed.add("app");
          throw new IllegalStateException("app failed to stop");
        });
    AutoCloseable server = resources.remember(() -> closed.add("server"));

    resources.close();
    resources.close(); // a second close (the shutdown hook after a failed start) closes nothing

    assertThat(server).isNotNull();
    assertThat(closed).containsExactly("server", "app", "broker");
  }
}
