package io.lookalike.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LagProgressCheckTest {

  private final AtomicLong lag = new AtomicLong();
  private final AtomicLong clock = new AtomicLong(1_000_000);
  private final LagProgressCheck check =
      new LagProgressCheck("indexer m1", lag::get, 60_000, clock::get);

  @Test
  void shouldBeDownWithTheReasonWhileTheLagDoesNotGoDown() {
    lag.set(8086);
    assertThat(check.check().up()).isTrue();
    clock.addAndGet(59_000);
    assertThat(check.check().up()).isTrue();
    clock.addAndGet(1_000);
    HealthCheck.Status stuck = check.check();
    assertThat(stuck.up()).isFalse();
    assertThat(stuck.detail()).startsWith("indexer m1: stuck, lag 8086 has not gone down for 60 s");
  }

  @Test
  void shouldBeUpAgainOnceTheLagFalls() {
    lag.set(100);
    check.check();
    clock.addAndGet(120_000);
    assertThat(check.check().up()).isFalse();
    lag.set(99);
    assertThat(check.check().up()).isTrue();
  }

  @Test
  void shouldBeUpWhenCaughtUpHoweverLong() {
    lag.set(0);
    check.check();
    clock.addAndGet(3_600_000);
    assertThat(check.check()).isEqualTo(HealthCheck.Status.up("indexer m1: lag 0"));
  }

  @Test
  void shouldBeDownWhenTheLagCannotBeRead() {
    lag.set(-1);
    assertThat(check.check().up()).isFalse();
  }
}
