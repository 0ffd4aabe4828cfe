package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class StageHealthTest {

  @Test
  void shouldBeDownWithTheFailingChecksReasonWhenAnyCheckIsDown() {
    StageHealth health =
        new StageHealth()
            .add("streams", () -> HealthCheck.Status.degraded("RUNNING, restoring"))
            .add("disk", () -> HealthCheck.Status.down("only 7 MiB free in /data"))
            .add("progress", () -> HealthCheck.Status.up("lag 0"));

    HealthCheck.Status status = health.check();

    assertThat(status.word()).isEqualTo("DOWN");
    assertThat(status.detail()).isEqualTo("disk: only 7 MiB free in /data");
  }

  @Test
  void shouldBeDegradedWithTheReasonWhenNoneIsDown() {
    StageHealth health =
        new StageHealth()
            .add("streams", () -> HealthCheck.Status.degraded("RUNNING, restoring"))
            .add("disk", () -> HealthCheck.Status.up("900 MiB free"));

    assertThat(health.check().word()).isEqualTo("DEGRADED");
    assertThat(health.check().up()).isTrue();
    assertThat(health.check().detail()).isEqualTo("streams: RUNNING, restoring");
  }

  @Test
  void shouldCountACheckThatThrowsAsDown() {
    StageHealth health =
        new StageHealth()
            .add(
                "progress",
                () -> {
                  throw new IllegalStateException("boom");
                });

    assertThat(health.checkAll().get("progress").up()).isFalse();
  }

  @Test
  void shouldCountARestoringStageAsMoving() {
    long[] lag = {5};
    boolean[] restoring = {true};
    HealthCheck progress =
        StageHealth.progress("embedder", () -> lag[0], () -> restoring[0], 1_000);
    // however long it restores, its standing lag is not "stuck"
    assertThat(progress.check().up()).isTrue();
    assertThat(progress.check().detail()).isEqualTo("embedder: lag 5");
  }

  @Test
  void shouldRefuseTheOldLocalKeyNamingTheNewOne() {
    assertThatThrownBy(() -> new HealthConfig(Map.of("local.min.free.bytes", "1000")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("local.min.free.bytes=1000")
        .hasMessageContaining(HealthConfig.MIN_FREE_BYTES_CONFIG);
    assertThat(new HealthConfig(Map.of("health.min.free.bytes", "1000")).minFreeBytes())
        .isEqualTo(1000);
  }
}
