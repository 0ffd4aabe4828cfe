package io.lookalike.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.lookalike.ingest.CatalogFileLoader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class LookalikeCommandLineTest {

  @Test
  void shouldSkipTheSampleWithNoSample() {
    assertThat(parseLocal("--no-sample").sample).isFalse();
    assertThat(parseLocal("--sample").sample).isTrue();
    assertThat(parseLocal().sample).isTrue();
  }

  @Test
  void shouldNamePortOptionsThatAreInUseBeforeAnythingStarts() throws Exception {
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      int port = taken.getLocalPort();

      List<String> problems =
          PortCheck.problems(
              List.of(
                  new PortCheck.Port("--port", "127.0.0.1", port),
                  new PortCheck.Port("--kafka-port", "127.0.0.1", 0),
                  new PortCheck.Port("--controller-port", "127.0.0.1", port)));

      assertThat(problems).hasSize(2);
      assertThat(problems.get(0))
          .startsWith("--port " + port + ": 127.0.0.1:" + port + " is already in use");
      assertThat(problems.get(1))
          .isEqualTo("--controller-port " + port + ": the same port as --port");
    }
  }

  @Test
  void shouldReportAPortInUseInOneLineWithoutAStackTrace() throws Exception {
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      StringWriter err = new StringWriter();
      CommandLine cmd = Lookalike.commandLine(false);
      cmd.setErr(new PrintWriter(err));

      int exit =
          cmd.execute(
              "local",
              "--data-dir",
              "target/port-taken",
              "--port",
              Integer.toString(taken.getLocalPort()),
              "--kafka-port",
              "0",
              "--controller-port",
              "0");

      assertThat(exit).isEqualTo(StartupErrors.EXIT_CODE);
      assertThat(err.toString().lines().toList())
          .singleElement()
          .asString()
          .startsWith(
              "lookalike local: --port "
                  + taken.getLocalPort()
                  + ": 127.0.0.1:"
                  + taken.getLocalPort()
                  + " is already in use");
    }
  }

  @Test
  void shouldPrintTheStackTraceOnlyWhenVerbose() {
    StringWriter quiet = new StringWriter();
    StringWriter verbose = new StringWriter();
    Exception failure =
        new IllegalStateException(
            "wrapped", new ConfigException("gateway.port", "x", "not a number"));
    CommandLine cmd = new CommandLine(new Lookalike()).getSubcommands().get("gateway");

    cmd.setErr(new PrintWriter(quiet));
    new StartupErrors(false).handleExecutionException(failure, cmd, null);
    cmd.setErr(new PrintWriter(verbose));
    new StartupErrors(true).handleExecutionException(failure, cmd, null);

    assertThat(quiet.toString())
        .isEqualTo(
            "lookalike gateway: Invalid value x for configuration gateway.port: "
                + "not a number"
                + System.lineSeparator());
    assertThat(verbose.toString())
        .contains("\tat ")
        .contains("Invalid value x for configuration gateway.port");
  }

  @Test
  void shouldPrintLoadCountsInWords() {
    assertThat(
            Lookalike.Load.describe(new CatalogFileLoader.Result(47, 5), "catalog.product-events"))
        .isEqualTo(
            "Published 47 product events to catalog.product-events; 5 lines were invalid and skipped "
                + "(see the warnings above).");
    assertThat(Lookalike.Load.describe(new CatalogFileLoader.Result(1, 0), "t"))
        .isEqualTo("Published 1 product event to t; every line was valid.");
  }

  private static Lookalike.Local parseLocal(String... args) {
    Lookalike.Local local = new Lookalike.Local();
    new CommandLine(local).parseArgs(args);
    return local;
  }
}
