package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class LookalikeCommandLineTest {

  @Test
  void shouldSkipTheSampleCatalogWithNoSample() {
    CommandLine.ParseResult parsed = new CommandLine(new Lookalike()).parseArgs("local", "--no-sample");
    Lookalike.Local local = (Lookalike.Local) parsed.subcommand().commandSpec().userObject();
    assertThat(local.sample).isFalse();
  }

  @Test
  void shouldLoadTheSampleCatalogByDefault() {
    CommandLine.ParseResult parsed = new CommandLine(new Lookalike()).parseArgs("local");
    Lookalike.Local local = (Lookalike.Local) parsed.subcommand().commandSpec().userObject();
    assertThat(local.sample).isTrue();
  }
}
